"""A record, kept at the hospital, of everything its ClientApp sends out.

A hospital's security officer wants to see for themselves that no patient row
leaves the site. When the SuperNode's environment sets
`FEDCLUSTER_PAYLOAD_AUDIT` to a folder, this ClientApp mod appends one JSON
line per outgoing reply to `<folder>/<hospital>.jsonl`: the action answered,
every record's name, and for each array its name, shape and dtype, for each
metric and config entry its key and type. Values are never written, so the
record itself holds nothing about any patient.

The mod sits outermost, so what it describes is exactly what travels (after
compression, masking and any other mod). A record packed into one array for a
deployed run, or bundled with the others into one config record, is
described by its members under its own name, since they are what the packed
bytes hold. Without the variable it does nothing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from flwr.app import ArrayRecord, Context, Message
from flwr.clientapp.typing import ClientAppCallable

from fedcluster.app import protocol
from fedcluster.app.packing import BUNDLE, is_packed, packed_members

AUDIT_FOLDER_VARIABLE = "FEDCLUSTER_PAYLOAD_AUDIT"


def payload_audit_mod(
    message: Message, context: Context, call_next: ClientAppCallable
) -> Message:
    """Describe the reply in the audit file, then let it go unchanged."""
    reply = call_next(message, context)
    folder = os.environ.get(AUDIT_FOLDER_VARIABLE)
    if not folder:
        return reply
    orders = message.content.config_records.get(protocol.INSTRUCTIONS)
    action = str(orders.get("action", "")) if orders is not None else ""
    entry = describe_reply(reply)
    entry["action"] = action
    hospital = str(entry.get("hospital") or context.node_config.get("hospital", ""))
    slug = "-".join(hospital.lower().replace(".", " ").split()) or "unknown"
    path = Path(folder) / f"{slug}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as audit:
        audit.write(json.dumps(entry) + "\n")
    return reply


def _describe_arrays(record: ArrayRecord) -> dict[str, Any]:
    """Each array's name, shape and dtype; a packed record's members, read
    from its header, since they are what the packed bytes hold."""
    if is_packed(record):
        return _describe_members(next(iter(record.values())).data)
    return {
        name: {"shape": list(array.shape), "dtype": array.dtype}
        for name, array in record.items()
    }


def _describe_members(packed: bytes) -> dict[str, Any]:
    return {
        member["name"]: {"shape": member["shape"], "dtype": member["dtype"]}
        for member in packed_members(packed)
    }


def describe_reply(reply: Message) -> dict[str, Any]:
    """Names, shapes, dtypes and keys of a reply's records; no values."""
    if reply.has_error():
        return {"error": True, "arrays": {}, "metrics": {}, "configs": {}}
    content = reply.content
    arrays = {
        record_name: _describe_arrays(record)
        for record_name, record in content.array_records.items()
    }
    bundle = content.config_records.get(BUNDLE)
    for record_name, payload in (bundle or {}).items():
        if isinstance(payload, bytes):
            arrays[record_name] = _describe_members(payload)
    metrics = {
        record_name: {key: type(value).__name__ for key, value in record.items()}
        for record_name, record in content.metric_records.items()
    }
    configs = {
        record_name: {key: type(value).__name__ for key, value in record.items()}
        for record_name, record in content.config_records.items()
        if record_name != BUNDLE
    }
    site = content.config_records.get(protocol.SITE)
    hospital = str(site.get("hospital", "")) if site is not None else ""
    return {
        "error": False,
        "hospital": hospital,
        "arrays": arrays,
        "metrics": metrics,
        "configs": configs,
    }

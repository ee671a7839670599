"""The SuperLink's Control API through the `flwr` command line: connection,
hospital key registration, and which Flower node is which hospital.

`flwr` reads its connections from `$FLWR_HOME/config.toml`; fedcluster keeps
its own Flower home in the state folder so a user's own connections are never
touched. Registrations are recorded in `<state_dir>/kubernetes/nodes.json`
(hospital -> node id and the fingerprint of the key registered), which makes
`up` idempotent and lets `status` name the Flower node of each hospital.

`flwr ... --format json` reports failures as `{"success": false}` and may still
exit 0, so the JSON is checked, not only the exit code.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fedcluster.federation.local import state_folder
from fedcluster.runtime.kubernetes.plan import ClusterHospital, ClusterPlan
from fedcluster.runtime.kubernetes.tools import ClusterError, Tools, parse_json

logger = logging.getLogger(__name__)

CONNECTION = "fedcluster-kubernetes"


@dataclass(frozen=True)
class FlowerLink:
    """A reachable Control API and the Flower home that names it."""

    address: str
    root_certificates: Path
    flwr_home: Path

    @property
    def env(self) -> dict[str, str]:
        return {
            "FLWR_HOME": str(self.flwr_home),
            "FLWR_TELEMETRY_ENABLED": "0",
            "FLWR_DISABLE_UPDATE_CHECK": "1",
        }


@dataclass(frozen=True)
class Registration:
    hospital: str
    node_id: str
    action: str  # "registered", "kept" or "replaced"


def kubernetes_state(plan: ClusterPlan) -> Path:
    """`<state_dir>/kubernetes`, where this runtime keeps its own files."""
    folder = state_folder(plan.federation) / "kubernetes"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def flower_link(plan: ClusterPlan, address: str, ca_certificate: Path) -> FlowerLink:
    """Write the Flower home naming `address` as connection `CONNECTION`."""
    home = kubernetes_state(plan) / "flwr-home"
    home.mkdir(parents=True, exist_ok=True)
    config = (
        "# Written by fedcluster for the Kubernetes runtime; rewritten each time.\n"
        "[superlink]\n"
        f'default = "{CONNECTION}"\n\n'
        f"[superlink.{CONNECTION}]\n"
        f'address = "{address}"\n'
        f'root-certificates = "{ca_certificate.resolve()}"\n'
    )
    (home / "config.toml").write_text(config, encoding="utf-8")
    return FlowerLink(address, ca_certificate, home)


def key_fingerprint(public_key: Path) -> str:
    """SHA-256 of the key's base64 body, as a short hex string."""
    parts = public_key.read_text(encoding="ascii").split()
    if len(parts) < 2 or not parts[0].startswith("ecdsa-sha2-nistp"):
        raise ClusterError(
            f"{public_key}: not an OpenSSH ECDSA public key; ask the hospital to "
            "run `fedcluster k8s hospital-key` and send the .pub file"
        )
    return hashlib.sha256(parts[1].encode()).hexdigest()[:32]


def register_hospitals(
    plan: ClusterPlan, tools: Tools, link: FlowerLink
) -> tuple[list[Registration], list[str]]:
    """Register every hospital's public key once; return what was done and
    the hospitals that have no public key yet."""
    records = load_records(plan)
    listed = list_nodes(tools, link)
    done: list[Registration] = []
    missing: list[str] = []
    for entry in plan.hospitals:
        public_key = plan.public_key_path(entry)
        if public_key is None or not public_key.exists():
            missing.append(entry.name)
            continue
        done.append(_register(entry, public_key, tools, link, records, listed))
    save_records(plan, records)
    return done, missing


def node_states(plan: ClusterPlan, tools: Tools, link: FlowerLink) -> dict[str, str]:
    """Hospital name -> Flower node state (online, offline, registered, ...)."""
    records = load_records(plan)
    listed = list_nodes(tools, link)
    states = {}
    for entry in plan.hospitals:
        record = records.get(entry.name)
        if record is None:
            states[entry.name] = "not registered"
        else:
            states[entry.name] = listed.get(str(record["node_id"]), "unregistered")
    return states


def list_nodes(tools: Tools, link: FlowerLink) -> dict[str, str]:
    """Node id -> status, from `flwr supernode list`."""
    document = _flwr_json(tools, link, "supernode", "list", CONNECTION)
    return {
        str(node.get("node-id")): str(node.get("status", ""))
        for node in document.get("nodes") or []
    }


def load_records(plan: ClusterPlan) -> dict[str, dict[str, Any]]:
    path = kubernetes_state(plan) / "nodes.json"
    if not path.exists():
        return {}
    records: dict[str, dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return records


def save_records(plan: ClusterPlan, records: dict[str, dict[str, Any]]) -> None:
    path = kubernetes_state(plan) / "nodes.json"
    path.write_text(json.dumps(records, indent=2, sort_keys=True) + "\n")


def forget_records(plan: ClusterPlan) -> None:
    (kubernetes_state(plan) / "nodes.json").unlink(missing_ok=True)


def _register(
    entry: ClusterHospital,
    public_key: Path,
    tools: Tools,
    link: FlowerLink,
    records: dict[str, dict[str, Any]],
    listed: dict[str, str],
) -> Registration:
    fingerprint = key_fingerprint(public_key)
    record = records.get(entry.name)
    action = "registered"
    if record is not None:
        alive = listed.get(str(record["node_id"])) not in (None, "unregistered")
        if alive and record.get("key") == fingerprint:
            return Registration(entry.name, str(record["node_id"]), "kept")
        if alive:
            # The hospital rotated its key: the old one must stop working.
            _flwr_json(
                tools,
                link,
                "supernode",
                "unregister",
                str(record["node_id"]),
                CONNECTION,
            )
            action = "replaced"

    document = _flwr_json(
        tools,
        link,
        "supernode",
        "register",
        str(public_key),
        CONNECTION,
        "--name",
        entry.label,
        problem=(
            f"cannot register the key of hospital {entry.name!r}; if it is already "
            "registered from elsewhere, unregister it with `flwr supernode "
            "unregister`"
        ),
    )
    node_id = str(document.get("node-id"))
    records[entry.name] = {"node_id": node_id, "key": fingerprint}
    logger.info("%s hospital %s as Flower node %s", action, entry.name, node_id)
    return Registration(entry.name, node_id, action)


def _flwr_json(
    tools: Tools, link: FlowerLink, *args: str, problem: str = ""
) -> dict[str, Any]:
    try:
        output = tools.flwr(*args, "--format", "json", env=link.env)
    except ClusterError as error:
        raise ClusterError(f"{problem or 'flwr failed'}: {error}") from error
    document = parse_json(output, "flwr")
    if not isinstance(document, dict) or not document.get("success", False):
        message = (
            document.get("error-message", "") if isinstance(document, dict) else ""
        )
        reason = " ".join(str(message).split()) or "no reason given"
        raise ClusterError(f"{problem or '`flwr ' + args[0] + '` failed'}: {reason}")
    return document

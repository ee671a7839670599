"""`summary.json`'s `bytes`: what a run moved over the network, and its price.

Counted from metrics.jsonl, so the numbers are the bytes of the arrays that
were actually sent in each round's messages, after any compression: `sent` by
the server to hospitals, `received` by the server from them. Egress is billed
by the cloud that sends, so the estimate is split the same way: the central
cluster pays for `sent`, the hospitals for `received`.

Not counted: the one-off statistics exchange before round 1, the final
evaluation, the local-only baseline messages, Flower's own framing and TLS.
For models of any size these are small next to the rounds themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fedcluster.federation.traffic import TrafficSettings

GIGABYTE = 1e9


def bytes_summary(
    metrics: Sequence[dict[str, Any]], traffic: TrafficSettings
) -> dict[str, Any]:
    """Total, per-round and per-hospital bytes, and the egress cost estimate."""
    sent = sum(int(line.get("bytes_sent", 0)) for line in metrics)
    received = sum(int(line.get("bytes_received", 0)) for line in metrics)
    trained = [line for line in metrics if int(line.get("round", 0)) > 0]

    by_hospital: dict[str, dict[str, int]] = {}
    for line in trained:
        for hospital, moved in (line.get("bytes_by_hospital") or {}).items():
            entry = by_hospital.setdefault(hospital, {"sent": 0, "received": 0})
            entry["sent"] += int(moved.get("sent", 0))
            entry["received"] += int(moved.get("received", 0))

    price = traffic.price_per_gb
    return {
        "sent": sent,
        "received": received,
        "total": sent + received,
        "per_round": (sent + received) / len(trained) if trained else None,
        "compression": traffic.compression,
        "by_hospital": dict(sorted(by_hospital.items())),
        "egress": {
            "price_per_gb": price,
            "server": sent / GIGABYTE * price,
            "hospitals": received / GIGABYTE * price,
            "total": (sent + received) / GIGABYTE * price,
        },
    }

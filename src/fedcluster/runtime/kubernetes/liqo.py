"""Reading Liqo's view of the peered clusters: `liqoctl info` and virtual nodes.

`liqoctl info -o json` exits 0 even when a peering is broken, so its JSON is
the only truth: `peerings.peers[]` gives, per remote cluster id, its role and
the status (Healthy, Unhealthy, Disabled) of networking, authentication and
offloading. The virtual nodes (`kubectl get nodes -l liqo.io/type=virtual-node
-o json`) say whether the central cluster can place pods there now, and how
much CPU and memory the hospital lends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fedcluster.runtime.kubernetes import names
from fedcluster.runtime.kubernetes.tools import ClusterError

# ForeignCluster roles under which this cluster may offload to the peer.
PROVIDER_ROLES = ("Provider", "ConsumerAndProvider")


@dataclass(frozen=True)
class Peer:
    """One peering as `liqoctl info` reports it."""

    cluster_id: str
    role: str
    networking: str
    authentication: str
    offloading: str

    def problems(self) -> list[str]:
        found = []
        if self.role not in PROVIDER_ROLES:
            found.append(
                f"peering role is {self.role or 'unknown'}, so this cluster cannot "
                "offload to it; peer from the central cluster towards the hospital"
            )
        for module in ("networking", "authentication", "offloading"):
            status = getattr(self, module)
            if status != "Healthy":
                found.append(f"{module} {status or 'unknown'}")
        return found


@dataclass(frozen=True)
class LiqoInfo:
    """The central cluster's Liqo installation and its peerings."""

    cluster_id: str
    version: str
    healthy: bool
    unhealthy_pods: tuple[str, ...]
    peers: dict[str, Peer]


@dataclass(frozen=True)
class VirtualNode:
    """A Liqo virtual node standing for one remote cluster."""

    name: str
    cluster_id: str
    ready: bool
    not_ready_reason: str
    cpu: str
    memory: str
    cordoned: bool


def parse_liqo_info(document: Any) -> LiqoInfo:
    """Read the document `liqoctl info -o json` prints."""
    if not isinstance(document, dict):
        raise ClusterError("liqoctl info printed no JSON object; is Liqo installed?")
    local = document.get("local") or {}
    health = document.get("health") or {}
    peers: dict[str, Peer] = {}
    for entry in (document.get("peerings") or {}).get("peers") or []:
        cluster_id = str(entry.get("clusterID", ""))
        peers[cluster_id] = Peer(
            cluster_id=cluster_id,
            role=str(entry.get("role", "")),
            networking=str(entry.get("networkingStatus", "")),
            authentication=str(entry.get("authenticationStatus", "")),
            offloading=str(entry.get("offloadingStatus", "")),
        )
    return LiqoInfo(
        cluster_id=str(local.get("clusterID", "")),
        version=str(local.get("version", "")),
        healthy=bool(health.get("healthy", False)),
        unhealthy_pods=tuple(sorted((health.get("unhealthyPods") or {}).keys())),
        peers=peers,
    )


def parse_virtual_nodes(document: Any) -> dict[str, list[VirtualNode]]:
    """Read `kubectl get nodes -l liqo.io/type=virtual-node -o json`, by cluster id."""
    nodes: dict[str, list[VirtualNode]] = {}
    for item in (document or {}).get("items") or []:
        metadata = item.get("metadata") or {}
        labels = metadata.get("labels") or {}
        if labels.get(names.LIQO_TYPE_LABEL) != names.LIQO_VIRTUAL_NODE:
            continue
        status = item.get("status") or {}
        ready, reason = _ready_condition(status.get("conditions") or [])
        allocatable = status.get("allocatable") or {}
        node = VirtualNode(
            name=str(metadata.get("name", "")),
            cluster_id=str(labels.get(names.LIQO_CLUSTER_LABEL, "")),
            ready=ready,
            not_ready_reason=reason,
            cpu=str(allocatable.get("cpu", "0")),
            memory=str(allocatable.get("memory", "0")),
            cordoned=bool((item.get("spec") or {}).get("unschedulable", False)),
        )
        nodes.setdefault(node.cluster_id, []).append(node)
    return nodes


def _ready_condition(conditions: list[dict[str, Any]]) -> tuple[bool, str]:
    for condition in conditions:
        if condition.get("type") == "Ready":
            if condition.get("status") == "True":
                return True, ""
            reason = condition.get("message") or condition.get("reason") or ""
            return False, str(reason) or "NotReady"
    return False, "no Ready condition reported"

"""`fedcluster k8s status`: each hospital mapped to its pod, node, cluster and
Flower node.

Reads the namespace's pods, the virtual nodes and the recent Warning events
(Liqo reflects a remote pod's events back to the central cluster), then, when
asked, the SuperLink's list of Flower nodes. A hospital's pod counts as placed
right only if it runs on the virtual node whose cluster id is the hospital's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from fedcluster.runtime.kubernetes import names
from fedcluster.runtime.kubernetes.liqo import VirtualNode, parse_virtual_nodes
from fedcluster.runtime.kubernetes.offloading import offloading_status
from fedcluster.runtime.kubernetes.plan import ClusterHospital, ClusterPlan
from fedcluster.runtime.kubernetes.tools import ClusterError, Tools


@dataclass(frozen=True)
class PodState:
    """One pod as `status` reports it."""

    pod: str
    phase: str
    ready: bool
    node: str
    detail: str


@dataclass(frozen=True)
class HospitalStatus:
    hospital: str
    cluster_id: str
    pod: str
    phase: str
    ready: bool
    node: str
    on_own_cluster: bool
    flower: str
    detail: str


@dataclass(frozen=True)
class ClusterStatus:
    offloading: str
    remote_namespace: str
    superlink: PodState | None
    hospitals: tuple[HospitalStatus, ...]

    def to_json(self) -> dict[str, Any]:
        """The `--json` document: superlink and hospitals keyed by name."""
        return {
            "offloading": {
                "phase": self.offloading,
                "remote_namespace": self.remote_namespace,
            },
            "superlink": asdict(self.superlink) if self.superlink else None,
            "hospitals": {
                h.hospital: {k: v for k, v in asdict(h).items() if k != "hospital"}
                for h in self.hospitals
            },
        }


def collect_status(
    plan: ClusterPlan, tools: Tools, *, flower_nodes: dict[str, str] | None = None
) -> ClusterStatus:
    """Ask the central cluster; `flower_nodes` maps hospital name to node state."""
    namespace = plan.namespace
    pods = tools.kubectl_json(
        "get",
        "pods",
        "-n",
        namespace,
        "-l",
        f"{names.MANAGED_BY_LABEL}={names.MANAGED_BY}",
    )
    nodes = parse_virtual_nodes(
        tools.kubectl_json(
            "get", "nodes", "-l", f"{names.LIQO_TYPE_LABEL}={names.LIQO_VIRTUAL_NODE}"
        )
    )
    events = tools.kubectl_json(
        "get", "events", "-n", namespace, "--field-selector", "type=Warning"
    )
    try:
        offloading = offloading_status(
            tools.kubectl_json(
                "get", "namespaceoffloading", names.OFFLOADING, "-n", namespace
            )
        )
        phase, remote = offloading.phase, offloading.remote_namespace
    except ClusterError:
        phase, remote = "absent", ""
    return status_from_documents(
        plan,
        pods=pods,
        nodes=nodes,
        events=events,
        offloading_phase=phase,
        remote_namespace=remote,
        flower_nodes=flower_nodes or {},
    )


def status_from_documents(
    plan: ClusterPlan,
    *,
    pods: Any,
    nodes: dict[str, list[VirtualNode]],
    events: Any,
    offloading_phase: str,
    remote_namespace: str,
    flower_nodes: dict[str, str],
) -> ClusterStatus:
    """Map already fetched documents to a status (no cluster calls)."""
    warnings = _latest_warnings(events)
    node_cluster = {
        node.name: node.cluster_id for found in nodes.values() for node in found
    }
    superlink: PodState | None = None
    by_hospital: dict[str, PodState] = {}
    for item in (pods or {}).get("items") or []:
        labels = (item.get("metadata") or {}).get("labels") or {}
        state = _pod_state(item, warnings)
        if labels.get(names.COMPONENT_LABEL) == "superlink":
            superlink = _prefer(superlink, state)
        elif labels.get(names.COMPONENT_LABEL) == "supernode":
            label = labels.get(names.HOSPITAL_LABEL, "")
            by_hospital[label] = _prefer(by_hospital.get(label), state)

    hospitals = tuple(
        _hospital_status(
            entry, by_hospital.get(entry.label), node_cluster, flower_nodes
        )
        for entry in plan.hospitals
    )
    return ClusterStatus(offloading_phase, remote_namespace, superlink, hospitals)


def _hospital_status(
    entry: ClusterHospital,
    pod: PodState | None,
    node_cluster: dict[str, str],
    flower_nodes: dict[str, str],
) -> HospitalStatus:
    cluster_id = entry.settings.cluster_id
    flower = flower_nodes.get(entry.name, "unknown")
    if pod is None:
        return HospitalStatus(
            entry.name, cluster_id, "", "Absent", False, "", False, flower,
            "no pod; run `fedcluster k8s up`",
        )  # fmt: skip
    own = bool(pod.node) and node_cluster.get(pod.node) == cluster_id
    detail = pod.detail
    if pod.node and not own:
        detail = (
            f"running on {pod.node}, which is not cluster {cluster_id}; "
            "check the hospital's cluster_id"
        )
    return HospitalStatus(
        entry.name, cluster_id, pod.pod, pod.phase, pod.ready and own, pod.node,
        own, flower, detail,
    )  # fmt: skip


def _pod_state(item: dict[str, Any], warnings: dict[str, str]) -> PodState:
    metadata = item.get("metadata") or {}
    status = item.get("status") or {}
    name = str(metadata.get("name", ""))
    containers = status.get("containerStatuses") or []
    ready = bool(containers) and all(c.get("ready") for c in containers)
    waiting = [
        str(c["state"]["waiting"].get("reason", "Waiting"))
        for c in containers
        if (c.get("state") or {}).get("waiting")
    ]
    detail = ", ".join(sorted(set(waiting)))
    if not ready and name in warnings:
        detail = f"{detail}: {warnings[name]}" if detail else warnings[name]
    if metadata.get("deletionTimestamp"):
        detail = "terminating"
    return PodState(
        pod=name,
        phase=str(status.get("phase", "Unknown")),
        ready=ready,
        node=str((item.get("spec") or {}).get("nodeName") or ""),
        detail=detail,
    )


def _prefer(current: PodState | None, candidate: PodState) -> PodState:
    """During a rollout two pods may exist; show the ready or newest one."""
    if current is None or (candidate.ready and not current.ready):
        return candidate
    return current


def _latest_warnings(events: Any) -> dict[str, str]:
    """The most recent Warning message per pod name."""
    latest: dict[str, tuple[str, str]] = {}
    for event in (events or {}).get("items") or []:
        involved = event.get("involvedObject") or {}
        if involved.get("kind") != "Pod" or event.get("type") != "Warning":
            continue
        when = str(event.get("lastTimestamp") or event.get("eventTime") or "")
        name = str(involved.get("name", ""))
        if name not in latest or when >= latest[name][0]:
            message = " ".join(str(event.get("message", "")).split())
            latest[name] = (when, message)
    return {name: message for name, (_, message) in latest.items()}

"""`fedcluster k8s preflight`: is every hospital's cluster ready to take its client?

For each hospital: is its cluster peered with the central one, is the peering
healthy (networking, authentication, offloading), is its virtual node Ready
and schedulable, and does it lend enough CPU and memory for the client's
requests. Any problem makes the hospital not ready; the command then exits 1
and names each such hospital.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fedcluster.errors import FedclusterError
from fedcluster.federation.kubernetes import quantity_value
from fedcluster.runtime.kubernetes import names
from fedcluster.runtime.kubernetes.liqo import (
    LiqoInfo,
    VirtualNode,
    parse_liqo_info,
    parse_virtual_nodes,
)
from fedcluster.runtime.kubernetes.plan import ClusterHospital, ClusterPlan
from fedcluster.runtime.kubernetes.tools import Tools

# Earlier Liqo releases dropped the inter-cluster tunnel every few hours.
MINIMUM_LIQO = (1, 2, 0)


class NotReadyError(FedclusterError):
    """One or more hospitals (or the central Liqo) are not ready; exit code 1."""

    exit_code = 1


@dataclass(frozen=True)
class HospitalReadiness:
    """What preflight found for one hospital."""

    hospital: str
    cluster_id: str
    peered: bool
    healthy: bool
    node: str
    node_ready: bool
    cpu: str
    memory: str
    problems: tuple[str, ...]

    @property
    def ready(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Preflight:
    liqo: LiqoInfo
    hospitals: tuple[HospitalReadiness, ...]
    central_problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    @property
    def ready(self) -> bool:
        return not self.central_problems and all(h.ready for h in self.hospitals)

    def raise_unless_ready(self) -> None:
        parts = [
            f"{h.hospital} ({'; '.join(h.problems)})"
            for h in self.hospitals
            if not h.ready
        ]
        parts += [f"central cluster ({p})" for p in self.central_problems]
        if parts:
            raise NotReadyError("not ready: " + ", ".join(parts))


def run_preflight(plan: ClusterPlan, tools: Tools) -> Preflight:
    """Ask liqoctl and kubectl, then assess every hospital."""
    info = parse_liqo_info(
        tools.liqoctl_json("info", "--namespace", plan.settings.liqo_namespace)
    )
    nodes = parse_virtual_nodes(
        tools.kubectl_json(
            "get", "nodes", "-l", f"{names.LIQO_TYPE_LABEL}={names.LIQO_VIRTUAL_NODE}"
        )
    )
    return assess(plan, info, nodes)


def assess(
    plan: ClusterPlan, info: LiqoInfo, nodes: dict[str, list[VirtualNode]]
) -> Preflight:
    """Judge every hospital from already parsed Liqo and node documents."""
    hospitals = tuple(
        _assess_hospital(plan, entry, info, nodes) for entry in plan.hospitals
    )

    central: list[str] = []
    if not info.healthy:
        pods = ", ".join(info.unhealthy_pods) or "some Liqo pods"
        central.append(f"Liqo is unhealthy: {pods} not ready")
    warnings: list[str] = []
    version = _version(info.version)
    if version and version < MINIMUM_LIQO:
        warnings.append(
            f"Liqo {info.version} is older than v1.2.0, whose predecessors drop the "
            "inter-cluster tunnel every few hours; upgrade Liqo on every cluster"
        )
    return Preflight(info, hospitals, tuple(central), tuple(warnings))


def _assess_hospital(
    plan: ClusterPlan,
    entry: ClusterHospital,
    info: LiqoInfo,
    nodes: dict[str, list[VirtualNode]],
) -> HospitalReadiness:
    cluster_id = entry.settings.cluster_id
    problems: list[str] = []

    peer = info.peers.get(cluster_id)
    if peer is None:
        problems.append(
            f"cluster {cluster_id!r} is not peered; run `liqoctl peer` towards it"
        )
    else:
        problems += peer.problems()

    node = _pick_node(entry, nodes.get(cluster_id, []), problems)
    if node is not None:
        if not node.ready:
            problems.append(
                f"virtual node {node.name} NotReady: {node.not_ready_reason}"
            )
        if node.cordoned:
            problems.append(f"virtual node {node.name} is cordoned")
        problems += _capacity_problems(plan, node)

    return HospitalReadiness(
        hospital=entry.name,
        cluster_id=cluster_id,
        peered=peer is not None,
        healthy=peer is not None and not peer.problems(),
        node=node.name if node else "",
        node_ready=bool(node and node.ready),
        cpu=node.cpu if node else "",
        memory=node.memory if node else "",
        problems=tuple(problems),
    )


def _pick_node(
    entry: ClusterHospital, candidates: list[VirtualNode], problems: list[str]
) -> VirtualNode | None:
    if not candidates:
        label = f"{names.LIQO_CLUSTER_LABEL}={entry.settings.cluster_id}"
        problems.append(f"no virtual node carries {label}")
        return None
    if entry.settings.data_pvc:
        # The pod is bound to this node by name, so it must be this one.
        wanted = entry.settings.node_name
        for node in candidates:
            if node.name == wanted:
                return node
        found = ", ".join(node.name for node in candidates)
        problems.append(
            f"virtual node {wanted!r} not found (the cluster's is {found}); "
            "set virtual_node in [hospital.kubernetes]"
        )
        return None
    ready = [node for node in candidates if node.ready]
    return (ready or candidates)[0]


def _capacity_problems(plan: ClusterPlan, node: VirtualNode) -> list[str]:
    wanted = plan.settings.resources
    cpu = quantity_value(wanted.supernode.cpu) + quantity_value(wanted.clientapp.cpu)
    memory = quantity_value(wanted.supernode.memory) + quantity_value(
        wanted.clientapp.memory
    )
    problems = []
    try:
        if quantity_value(node.cpu) < cpu:
            problems.append(f"lends {node.cpu} CPU, the client requests {cpu:g}")
        if quantity_value(node.memory) < memory:
            mebibytes = memory / 2**20
            problems.append(
                f"lends {node.memory} memory, the client requests {mebibytes:.0f}Mi"
            )
    except ValueError:
        problems.append(f"allocatable {node.cpu} CPU / {node.memory} is unreadable")
    return problems


def _version(text: str) -> tuple[int, ...] | None:
    match = re.match(r"v?(\d+)\.(\d+)\.(\d+)", text)
    return tuple(int(part) for part in match.groups()) if match else None

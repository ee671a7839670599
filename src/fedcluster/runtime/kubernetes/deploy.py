"""`fedcluster k8s up` and `down`: apply, wait, register; and remove again.

`up` runs preflight, renders into `<state_dir>/kubernetes/manifests`, applies
the namespace and its NamespaceOffloading first (server-side apply) and waits
until Liqo reports the offloading Ready, then applies everything else, waits
for the SuperLink, registers every hospital's public key through the Control
API, and waits until each hospital's pod is Ready on its own virtual node.

`down` deletes, in the central namespace only, the objects `up` labelled as
its own. It never deletes the NamespaceOffloading (removing it makes Liqo
delete each hospital's twin namespace, with the hospital's key Secret and any
claim in it), never the namespace, and never anything in a hospital cluster:
hospital data is out of its reach by construction. The SuperLink's state
(database, run store) is kept unless `purge_state` is set.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fedcluster.runtime.kubernetes import names
from fedcluster.runtime.kubernetes.flower import (
    Registration,
    forget_records,
    kubernetes_state,
    register_hospitals,
)
from fedcluster.runtime.kubernetes.offloading import (
    OffloadingStatus,
    offloading_status,
)
from fedcluster.runtime.kubernetes.plan import ClusterPlan
from fedcluster.runtime.kubernetes.preflight import NotReadyError, run_preflight
from fedcluster.runtime.kubernetes.render import render
from fedcluster.runtime.kubernetes.status import HospitalStatus, collect_status
from fedcluster.runtime.kubernetes.submission import control_endpoint
from fedcluster.runtime.kubernetes.tools import Tools

logger = logging.getLogger(__name__)

Say = Callable[[str], None]
FIELD_MANAGER = "fedcluster"
# Kinds `up` creates in the central namespace, all labelled as ours.
OWNED_KINDS = "deployments,services,configmaps,secrets,networkpolicies,ingresses"


@dataclass(frozen=True)
class UpResult:
    folder: Path
    remote_namespace: str
    registrations: tuple[Registration, ...]
    missing_keys: tuple[str, ...]
    hospitals: tuple[HospitalStatus, ...]


def manifests_folder(plan: ClusterPlan) -> Path:
    return kubernetes_state(plan) / "manifests"


def up(
    plan: ClusterPlan,
    tools: Tools,
    *,
    say: Say,
    skip_preflight: bool = False,
    poll_seconds: float = 5.0,
) -> UpResult:
    """Deploy `plan` and wait until every hospital's client is Ready."""
    deadline = time.monotonic() + plan.settings.wait_timeout

    if not skip_preflight:
        checked = run_preflight(plan, tools)
        checked.raise_unless_ready()
        say(f"preflight: all {len(plan.hospitals)} hospital clusters ready")

    folder = manifests_folder(plan)
    render(plan.federation, folder)
    say(f"rendered {folder}")

    # Namespace and offloading first: pods created before Liqo extends the
    # namespace would wait on their virtual nodes with nowhere to go.
    _apply(
        tools,
        "-f",
        str(folder / "namespace.yaml"),
        "-f",
        str(folder / "offloading.yaml"),
    )
    offloading = _wait_for_offloading(plan, tools, deadline, poll_seconds)
    say(
        f"namespace {plan.namespace} offloaded to {len(plan.hospitals)} hospital "
        f"clusters as {offloading.remote_namespace or plan.namespace}"
    )

    _apply(tools, "-k", str(folder))
    tools.kubectl(
        "rollout",
        "status",
        f"deployment/{names.SUPERLINK}",
        "-n",
        plan.namespace,
        f"--timeout={max(1, int(deadline - time.monotonic()))}s",
        timeout=max(10.0, deadline - time.monotonic() + 10),
    )
    say("SuperLink ready")

    with control_endpoint(plan, tools) as link:
        registrations, missing = register_hospitals(plan, tools, link)
    for done in registrations:
        say(f"{done.hospital}: key {done.action} (Flower node {done.node_id})")
    for hospital in missing:
        say(
            f"{hospital}: no public key yet; the hospital runs `fedcluster k8s "
            "hospital-key` and sends the .pub file; set public_key and run up again"
        )

    # A hospital that has not handed over its key cannot start yet: wait
    # for the others, and say which ones are still to come.
    expected = {entry.name for entry in plan.hospitals} - set(missing)
    hospitals = _wait_for_hospitals(
        plan, tools, deadline, poll_seconds, offloading, expected=expected
    )
    if expected == {entry.name for entry in plan.hospitals}:
        say(f"all {len(hospitals)} hospital clients Ready on their own virtual nodes")
    else:
        say(
            f"{len(expected)} of {len(hospitals)} hospital clients Ready on their own "
            f"virtual nodes; waiting for the keys of {', '.join(missing)}"
        )
    return UpResult(
        folder,
        offloading.remote_namespace,
        tuple(registrations),
        tuple(missing),
        hospitals,
    )


def down(plan: ClusterPlan, tools: Tools, *, purge_state: bool = False) -> list[str]:
    """Remove what `up` created centrally; return what was removed."""
    removed = tools.kubectl(
        "delete",
        OWNED_KINDS,
        "-n",
        plan.namespace,
        "-l",
        f"{names.MANAGED_BY_LABEL}={names.MANAGED_BY}",
        "--ignore-not-found",
        "--wait=true",
        timeout=plan.settings.wait_timeout,
    ).splitlines()
    if purge_state:
        removed += tools.kubectl(
            "delete",
            "persistentvolumeclaim",
            names.STATE_CLAIM,
            "-n",
            plan.namespace,
            "--ignore-not-found",
            "--wait=true",
            timeout=plan.settings.wait_timeout,
        ).splitlines()
        # The registrations lived in the database just deleted.
        forget_records(plan)
    return [line for line in removed if line.strip()]


def _apply(tools: Tools, *sources: str) -> None:
    tools.kubectl(
        "apply",
        "--server-side",
        f"--field-manager={FIELD_MANAGER}",
        "--force-conflicts",
        *sources,
    )


def _wait_for_offloading(
    plan: ClusterPlan, tools: Tools, deadline: float, poll_seconds: float
) -> OffloadingStatus:
    while True:
        status = offloading_status(
            tools.kubectl_json(
                "get", "namespaceoffloading", names.OFFLOADING, "-n", plan.namespace
            )
        )
        if status.ready:
            return status
        if time.monotonic() >= deadline:
            by_cluster = {e.settings.cluster_id: e.name for e in plan.hospitals}
            failing = [
                f"{by_cluster.get(cluster, cluster)} ({reason})"
                for cluster, reason in sorted(status.problems.items())
            ]
            detail = "; ".join(failing) or "no reason reported"
            raise NotReadyError(
                f"namespace offloading is {status.phase}, not Ready: {detail}; "
                "check `liqoctl info` and `fedcluster k8s preflight`"
            )
        time.sleep(poll_seconds)


def _wait_for_hospitals(
    plan: ClusterPlan,
    tools: Tools,
    deadline: float,
    poll_seconds: float,
    offloading: OffloadingStatus,
    *,
    expected: set[str],
) -> tuple[HospitalStatus, ...]:
    while True:
        status = collect_status(plan, tools)
        waiting = [
            h for h in status.hospitals if h.hospital in expected and not h.ready
        ]
        if not waiting:
            return status.hospitals
        if time.monotonic() >= deadline:
            twin = offloading.remote_namespace or plan.namespace
            named = ", ".join(f"{h.hospital} ({h.detail or h.phase})" for h in waiting)
            raise NotReadyError(
                f"not Ready after {plan.settings.wait_timeout:.0f} s: {named}; "
                "a client waiting in ContainerCreating usually lacks its key: the "
                f"hospital runs `fedcluster k8s hospital-key --namespace {twin}`"
            )
        logger.debug("waiting for %s", ", ".join(h.hospital for h in waiting))
        time.sleep(poll_seconds)

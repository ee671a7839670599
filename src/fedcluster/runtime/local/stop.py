"""`fedcluster down`: stop exactly the processes `up` recorded, and nothing else.

Processes are stopped in two tiers: first the SuperExecs and SuperNodes
together (each takes a few seconds to exit; a SuperNode tells the SuperLink it
is leaving, so a later `up` is admitted at once), then the SuperLink. Each
tier gets SIGTERM, and SIGKILL after a grace period. A pid that no longer
belongs to the process we started is left alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from fedcluster.federation.model import Federation
from fedcluster.runtime.local import processes
from fedcluster.runtime.local.errors import LocalRuntimeError
from fedcluster.runtime.local.layout import LocalLayout
from fedcluster.runtime.local.processes import ProcessRecord
from fedcluster.runtime.local.state import LocalState, read_state

logger = logging.getLogger(__name__)

_TIERS = (
    ("clientapp-superexec", "supernode", "serverapp-superexec"),
    ("superlink",),
)
GRACE_SECONDS = 10.0


@dataclass(frozen=True)
class StopReport:
    """What `down` found and did."""

    stopped: list[ProcessRecord]
    already_gone: list[ProcessRecord]


def stop_federation(
    federation: Federation, *, grace: float = GRACE_SECONDS
) -> StopReport:
    """Stop every process the state file lists; then remove the state file."""
    layout = LocalLayout.of(federation)
    state = read_state(layout.state_file)
    if state is None:
        return StopReport(stopped=[], already_gone=[])
    return stop_recorded(layout, state, grace=grace)


def stop_recorded(
    layout: LocalLayout, state: LocalState, *, grace: float = GRACE_SECONDS
) -> StopReport:
    """Stop the processes in `state`, tier by tier."""
    stopped: list[ProcessRecord] = []
    gone: list[ProcessRecord] = []
    failed: list[ProcessRecord] = []
    known = {role for tier_roles in _TIERS for role in tier_roles}
    others = tuple(r.role for r in state.processes if r.role not in known)
    for roles in (others, *_TIERS):
        tier = [record for record in state.processes if record.role in roles]
        live = [record for record in tier if _worth_signalling(record)]
        gone += [record for record in tier if record not in live]
        failed += processes.stop(live, grace=grace)
        stopped += [record for record in live if record not in failed]

    if failed:
        first = failed[0]
        raise LocalRuntimeError(
            f"{first.label} (pid {first.pid}) survived SIGKILL; "
            f"check it with `ps -o pid,stat,cmd -g {first.pgid}`"
        )
    layout.state_file.unlink(missing_ok=True)
    for record in stopped:
        logger.info("stopped %s (pid %d)", record.label, record.pid)
    return StopReport(stopped=stopped, already_gone=gone)


def _worth_signalling(record: ProcessRecord) -> bool:
    """Ours and alive, or gone but with children left in its group."""
    if processes.is_ours(record):
        return True
    if processes.start_marker(record.pid) is not None:
        # The pid was reused by an unrelated program.
        return False
    return processes.group_has_members(record.pgid)

"""Waiting for a started federation to be ready, and telling why it is not.

The SuperLink is ready once it accepts connections. A hospital is ready once
the SuperLink lists its node as online *since its current SuperNode started*:
after a crash the SuperLink keeps the previous session online until two
heartbeats are missed (about a minute), and refuses a new SuperNode with the
same key meanwhile (code 2004). Such a SuperNode is started again every few
seconds until the old session lapses; any other exit fails at once, naming
the hospital and its log.
"""

from __future__ import annotations

import logging
import socket
import time

from fedcluster.federation.local import LocalSettings
from fedcluster.federation.model import Federation, Hospital
from fedcluster.runtime.local import processes
from fedcluster.runtime.local.commands import start_supernode
from fedcluster.runtime.local.control import Control, ControlError, NodeState
from fedcluster.runtime.local.errors import LocalRuntimeError
from fedcluster.runtime.local.layout import LocalLayout
from fedcluster.runtime.local.processes import ProcessRecord
from fedcluster.runtime.local.state import LocalState, write_state

logger = logging.getLogger(__name__)

# Seconds between attempts to start a SuperNode refused for a stale session.
STALE_SESSION_RETRY = 10.0


def wait_for_superlink(
    layout: LocalLayout, settings: LocalSettings, state: LocalState
) -> None:
    """Wait until the SuperLink accepts connections on its port."""
    superlink = state.superlink()
    assert superlink is not None
    deadline = time.monotonic() + settings.startup_timeout
    while time.monotonic() < deadline:
        if not processes.is_ours(superlink):
            raise LocalRuntimeError(
                "the SuperLink exited while starting: "
                f"{processes.last_problem(layout.log('superlink'))}; "
                f"see {layout.log('superlink')}"
            )
        try:
            with socket.create_connection(
                (settings.connect_host, settings.superlink_port), timeout=1.0
            ):
                return
        except OSError:
            time.sleep(0.2)
    raise LocalRuntimeError(
        f"the SuperLink did not open port {settings.superlink_port} within "
        f"{settings.startup_timeout:.0f} s; see {layout.log('superlink')}"
    )


def wait_until_online(
    federation: Federation,
    layout: LocalLayout,
    state: LocalState,
    control: Control,
    *,
    node_ids: dict[str, int],
    hospitals: list[Hospital] | None = None,
) -> None:
    """Wait until each hospital's node came online from its current SuperNode.

    `hospitals` defaults to all of them. `state` is updated (and written) when
    a SuperNode has to be started again.
    """
    settings = federation.local
    deadline = time.monotonic() + settings.startup_timeout
    waiting = {h.name: h for h in (hospitals or federation.hospitals)}
    retry_at: dict[str, float] = {}
    tried_offline: set[str] = set()
    nodes: dict[int, NodeState] = {}
    while waiting:
        try:
            nodes = control.nodes()
        except ControlError as error:
            logger.debug("node list not available yet: %s", error)

        for name, hospital in list(waiting.items()):
            node = nodes.get(node_ids[name], NodeState("unknown", None))
            supernode = state.supernode(name)
            assert supernode is not None
            if processes.is_ours(supernode):
                if _came_online_since(node, supernode):
                    logger.info("hospital %r is online", name)
                    del waiting[name]
                continue
            # A refusal while the SuperLink still lists the node online is
            # the stale session; once it lists it offline, one more attempt
            # must succeed, and a refusal after that is real.
            stale = node.status == "online" or (
                node.status == "offline" and name not in tried_offline
            )
            _refuse_unless_stale(layout, hospital, stale=stale)
            if node.status == "offline":
                tried_offline.add(name)
                _start_again(federation, layout, state, hospital)
            elif name not in retry_at:
                logger.info(
                    "hospital %r: the SuperLink still holds its previous "
                    "session; starting its SuperNode again in %.0f s",
                    name,
                    STALE_SESSION_RETRY,
                )
                retry_at[name] = time.monotonic() + STALE_SESSION_RETRY
            elif time.monotonic() >= retry_at[name]:
                del retry_at[name]
                _start_again(federation, layout, state, hospital)

        if waiting and time.monotonic() > deadline:
            name = next(iter(waiting))
            log = layout.log(f"{waiting[name].slug}.supernode")
            status = nodes.get(node_ids[name], NodeState("unknown", None)).status
            raise LocalRuntimeError(
                f"hospital {name!r}: SuperNode not online after "
                f"{settings.startup_timeout:.0f} s (node {status}); see {log}"
            )
        if waiting:
            time.sleep(1.0)


def _came_online_since(node: NodeState, supernode: ProcessRecord) -> bool:
    # Flower reports whole seconds; a SuperNode needs well over one second
    # to import Flower before it can come online, so flooring is safe.
    return (
        node.status == "online"
        and node.online_at is not None
        and node.online_at >= int(supernode.started_at)
    )


def _refuse_unless_stale(
    layout: LocalLayout, hospital: Hospital, *, stale: bool
) -> None:
    """Fail, naming the hospital, unless its SuperNode was refused for a
    session the SuperLink still holds (`stale`, and Flower's code 2004)."""
    log = layout.log(f"{hospital.slug}.supernode")
    problem = processes.last_problem(log)
    if stale and "2004" in problem:
        return
    raise LocalRuntimeError(
        f"hospital {hospital.name!r}: SuperNode exited: "
        f"{problem or 'no reason given'}; see {log}"
    )


def _start_again(
    federation: Federation, layout: LocalLayout, state: LocalState, hospital: Hospital
) -> None:
    index = federation.hospitals.index(hospital)
    record = start_supernode(layout, federation.local, hospital, index)
    old = state.supernode(hospital.name)
    state.processes = [r for r in state.processes if r != old] + [record]
    write_state(layout.state_file, state)

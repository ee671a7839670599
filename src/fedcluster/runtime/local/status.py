"""`fedcluster status`: which local processes run, and each hospital's node state.

Process state comes from the state file (is each recorded pid alive and still
ours); node state comes from the SuperLink itself (`flwr supernode list`):
`online` once a SuperNode has connected, `registered` before that, `offline`
after it left. `unknown` means the SuperLink could not be asked, and
`not registered` that `up` never registered the hospital's key.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel

from fedcluster.federation.model import Federation
from fedcluster.runtime.local import processes
from fedcluster.runtime.local.control import Control, ControlError
from fedcluster.runtime.local.layout import LocalLayout
from fedcluster.runtime.local.state import read_registrations, read_state

logger = logging.getLogger(__name__)


class ComponentStatus(BaseModel):
    pid: int | None
    running: bool


class HospitalStatus(BaseModel):
    pid: int | None
    running: bool
    node: str


class FederationStatus(BaseModel):
    """The shape `fedcluster status --json` prints."""

    superlink: ComponentStatus
    hospitals: dict[str, HospitalStatus]

    def as_json(self) -> dict[str, Any]:
        return self.model_dump()


def federation_status(federation: Federation) -> FederationStatus:
    """Pid and liveness of the SuperLink and every hospital, plus node states."""
    layout = LocalLayout.of(federation)
    state = read_state(layout.state_file)

    superlink = state.superlink() if state else None
    superlink_running = superlink is not None and processes.is_ours(superlink)

    statuses: dict[int, str] | None = None
    if superlink_running:
        try:
            statuses = Control(layout, timeout=30.0).node_statuses()
        except ControlError as error:
            logger.warning("cannot list nodes: %s", error)
    registrations = read_registrations(layout.registrations)

    hospitals: dict[str, HospitalStatus] = {}
    for hospital in federation.hospitals:
        supernode = state.supernode(hospital.name) if state else None
        superexec = state.find("clientapp-superexec", hospital.name) if state else None
        running = (
            supernode is not None
            and processes.is_ours(supernode)
            and superexec is not None
            and processes.is_ours(superexec)
        )
        registration = registrations.get(hospital.name)
        if registration is None:
            node = "not registered"
        elif statuses is None:
            node = "unknown"
        else:
            node = statuses.get(registration.node_id, "not registered")
        hospitals[hospital.name] = HospitalStatus(
            pid=supernode.pid if supernode else None, running=running, node=node
        )

    return FederationStatus(
        superlink=ComponentStatus(
            pid=superlink.pid if superlink else None, running=superlink_running
        ),
        hospitals=hospitals,
    )

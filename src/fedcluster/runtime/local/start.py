"""`fedcluster up --runtime local`: a SuperLink and one SuperNode per hospital.

Started in this order, each as its own process group logging to its own file:

1. `flower-superlink` with TLS, node authentication, a database on disk and
   process isolation, so a restarted SuperLink picks up a run where it was;
2. the ServerApp's `flower-superexec`, which runs our ServerApp when a run is
   submitted;
3. every hospital's key registered through the Control API;
4. per hospital, `flower-supernode` (its own key, the CA, its own runtime port,
   a node config naming only its own data file) and the ClientApp's
   `flower-superexec` beside it.

`up` returns once every SuperNode is online. If anything fails it stops what
it started, so a failed `up` leaves no process behind.
"""

from __future__ import annotations

import logging
import secrets
import socket
from pathlib import Path

from fedcluster.federation.model import Federation, Hospital
from fedcluster.runtime.local import processes
from fedcluster.runtime.local.app_folder import write_app_folder, write_config_file
from fedcluster.runtime.local.commands import (
    start_clientapp_superexec,
    start_serverapp_superexec,
    start_superlink,
    start_supernode,
)
from fedcluster.runtime.local.control import Control, write_connection
from fedcluster.runtime.local.errors import LocalRuntimeError
from fedcluster.runtime.local.layout import LocalLayout
from fedcluster.runtime.local.processes import ProcessRecord
from fedcluster.runtime.local.readiness import wait_for_superlink, wait_until_online
from fedcluster.runtime.local.registration import (
    forget_registrations_without_database,
    register_hospitals,
)
from fedcluster.runtime.local.state import (
    LocalState,
    read_registrations,
    read_state,
    write_state,
)
from fedcluster.runtime.local.stop import stop_recorded
from fedcluster.security.errors import SecurityError
from fedcluster.security.files import ensure_private_folder, write_private

logger = logging.getLogger(__name__)


def start_federation(federation: Federation) -> LocalState:
    """Start every process of the local runtime; returns the state written."""
    layout = LocalLayout.of(federation)
    settings = federation.local
    _require_key_material(federation, layout)
    _refuse_if_running(layout)
    _require_free_ports(federation)
    _prepare_files(federation, layout)

    source = federation.source
    state = LocalState(
        federation=federation.name,
        federation_file=str(source) if source else None,
        superlink_address=settings.superlink_address,
    )
    write_state(layout.state_file, state)
    try:
        _add(layout, state, start_superlink(layout, settings))
        wait_for_superlink(layout, settings, state)
        _add(layout, state, start_serverapp_superexec(layout, settings))

        control = Control(layout)
        registrations = register_hospitals(federation, layout, control)
        for index, hospital in enumerate(federation.hospitals):
            _add(layout, state, start_supernode(layout, settings, hospital, index))
            _add(
                layout,
                state,
                start_clientapp_superexec(
                    layout,
                    settings,
                    hospital,
                    index,
                    task_name=federation.task.name,
                ),
            )

        node_ids = {name: r.node_id for name, r in registrations.items()}
        wait_until_online(federation, layout, state, control, node_ids=node_ids)
    except BaseException:
        logger.info("start failed; stopping what was started")
        stop_recorded(layout, state)
        raise
    logger.info(
        "local federation %r up: SuperLink at %s, %d hospitals online",
        federation.name,
        settings.superlink_address,
        len(federation.hospitals),
    )
    return state


def restart_supernode(federation: Federation, hospital: Hospital) -> ProcessRecord:
    """Start a hospital's SuperNode again after it stopped; wait until online.

    Its ClientApp SuperExec keeps running and reconnects by itself. If the
    SuperNode was killed without leaving, this takes until the SuperLink lets
    its previous session lapse (about a minute).
    """
    layout = LocalLayout.of(federation)
    state = read_state(layout.state_file)
    if state is None:
        raise LocalRuntimeError(
            f"federation {federation.name!r} is not up; run `fedcluster up` first"
        )
    old = state.supernode(hospital.name)
    if old is not None and processes.is_ours(old):
        raise LocalRuntimeError(
            f"hospital {hospital.name!r}: its SuperNode (pid {old.pid}) still runs"
        )
    registration = read_registrations(layout.registrations).get(hospital.name)
    if registration is None:
        raise LocalRuntimeError(
            f"hospital {hospital.name!r} was never registered; run `fedcluster up`"
        )

    index = federation.hospitals.index(hospital)
    record = start_supernode(layout, federation.local, hospital, index)
    state.processes = [r for r in state.processes if r != old] + [record]
    write_state(layout.state_file, state)
    wait_until_online(
        federation,
        layout,
        state,
        Control(layout),
        node_ids={hospital.name: registration.node_id},
        hospitals=[hospital],
    )
    new = state.supernode(hospital.name)
    assert new is not None
    return new


def _require_key_material(federation: Federation, layout: LocalLayout) -> None:
    pki = layout.pki
    needed = [pki.ca_certificate, pki.server_certificate, pki.server_key]
    for hospital in federation.hospitals:
        needed += [pki.hospital_key(hospital), pki.hospital_public_key(hospital)]
    missing = [path for path in needed if not path.exists()]
    if missing:
        raise SecurityError(
            f"{missing[0]} is missing; run `fedcluster provision -f FILE` first"
        )
    connect_host = federation.local.connect_host
    if connect_host not in federation.local.server_names:
        raise SecurityError(
            f"the SuperLink is reached at {connect_host} but its certificate "
            f"is only for {', '.join(federation.local.server_names)}; add "
            f"{connect_host!r} to [local] server_names and run provision again"
        )


def _refuse_if_running(layout: LocalLayout) -> None:
    state = read_state(layout.state_file)
    if state is None:
        return
    alive = [r for r in state.processes if processes.is_ours(r)]
    if alive:
        raise LocalRuntimeError(
            f"federation {state.federation!r} is already up ({alive[0].label}, "
            f"pid {alive[0].pid}); run `fedcluster down -f FILE` first"
        )


def _require_free_ports(federation: Federation) -> None:
    settings = federation.local
    wanted = {settings.superlink_port: (settings.superlink_host, "the SuperLink")}
    for index, hospital in enumerate(federation.hospitals):
        port = settings.supernode_port(index)
        if port in wanted:
            raise LocalRuntimeError(
                f"hospital {hospital.name!r} would take port {port}, which "
                f"{wanted[port][1]} uses; change [local] supernode_base_port"
            )
        wanted[port] = ("127.0.0.1", f"hospital {hospital.name!r}")
    for port, (host, user) in wanted.items():
        if not _port_is_free(host, port):
            raise LocalRuntimeError(
                f"port {port} on {host}, needed by {user}, is taken by another "
                "program; free it or change the ports in [local]"
            )


def _port_is_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _prepare_files(federation: Federation, layout: LocalLayout) -> None:
    """Folders, connection config, node configs, app folder and secrets."""
    ensure_private_folder(layout.root)
    layout.logs.mkdir(exist_ok=True)
    forget_registrations_without_database(layout)
    write_connection(layout, federation.local)
    write_app_folder(layout.app)
    _ensure_secret(layout.superexec_secret)
    for hospital in federation.hospitals:
        ensure_private_folder(layout.hospital_folder(hospital))
        layout.hospital_home(hospital).mkdir(exist_ok=True)
        _ensure_secret(layout.hospital_secret(hospital))
        # The node config is the only way a ClientApp learns where its data
        # is: it names this hospital's file and no other.
        write_config_file(
            layout.node_config(hospital),
            {"hospital": hospital.name, "data-path": str(hospital.data.resolve())},
        )


def _ensure_secret(path: Path) -> None:
    """A random secret a SuperExec must prove it knows to fetch tasks."""
    if not path.exists():
        write_private(path, secrets.token_hex(32).encode())


def _add(layout: LocalLayout, state: LocalState, record: ProcessRecord) -> None:
    """Record a started process at once, so `down` finds it even if `up` dies."""
    state.processes.append(record)
    write_state(layout.state_file, state)

"""The command lines of the four kinds of Flower process the local runtime starts.

- `flower-superlink`: TLS with the federation's server certificate, node
  authentication, a database on disk, process isolation (its ServerApp runs in
  a SuperExec we start, so a SuperLink restart does not end a run), runtime
  dependency installation off, loopback only by default;
- the ServerApp's `flower-superexec`, trusting only the federation's CA;
- per hospital, `flower-supernode` with the hospital's own key, the CA, its own
  runtime API port on loopback and a node config naming only its data file;
- beside it, the ClientApp's `flower-superexec`.

Unless `[local] quick_start = false`, the two per-hospital processes run
through our thin launchers `fedcluster-supernode` and `fedcluster-superexec`
(see `quick_supernode` and `warm_superexec`): the same Flower commands with
shorter idle waits and ClientApp processes forked warm, which removes most of
a deployed round's fixed waiting.

Each SuperExec proves a shared secret to the runtime API it takes tasks from.
"""

from __future__ import annotations

from fedcluster.federation.local import LocalSettings
from fedcluster.federation.model import Hospital
from fedcluster.runtime.local import processes
from fedcluster.runtime.local.environment import (
    SUPEREXEC_POLL_VARIABLE,
    executable,
    flower_environment,
)
from fedcluster.runtime.local.layout import LocalLayout
from fedcluster.runtime.local.processes import ProcessRecord
from fedcluster.runtime.local.quick_supernode import (
    POLL_VARIABLE as SUPERNODE_POLL_VARIABLE,
)
from fedcluster.runtime.local.warm_superexec import PRELOAD_VARIABLE, task_module

SERVERAPP_SUPEREXEC_POLL = "0.5"


def start_superlink(layout: LocalLayout, settings: LocalSettings) -> ProcessRecord:
    pki = layout.pki
    argv = [
        executable("flower-superlink"),
        "--ssl-ca-certfile", str(pki.ca_certificate),
        "--ssl-certfile", str(pki.server_certificate),
        "--ssl-keyfile", str(pki.server_key),
        "--enable-supernode-auth",
        "--database", str(layout.database),
        "--isolation", "process",
        "--disable-runtime-dependency-installation",
        "--superexec-auth-secret-file", str(layout.superexec_secret),
        "--host", settings.superlink_host,
        "--port", str(settings.superlink_port),
    ]  # fmt: skip
    return processes.start(
        argv,
        role="superlink",
        environment=flower_environment(layout.flwr_home),
        log_path=layout.log("superlink"),
        cwd=layout.root,
    )


def start_serverapp_superexec(
    layout: LocalLayout, settings: LocalSettings
) -> ProcessRecord:
    argv = [
        executable("flower-superexec"),
        "--runtime-api-address", settings.superlink_address,
        "--root-certificates", str(layout.pki.ca_certificate),
        "--superexec-auth-secret-file", str(layout.superexec_secret),
    ]  # fmt: skip
    environment = flower_environment(layout.flwr_home)
    # This SuperExec only waits for runs to start, and every look costs the
    # SuperLink a database query that rounds in progress wait behind.
    environment[SUPEREXEC_POLL_VARIABLE] = SERVERAPP_SUPEREXEC_POLL
    return processes.start(
        argv,
        role="serverapp-superexec",
        environment=environment,
        log_path=layout.log("serverapp-superexec"),
        cwd=layout.root,
    )


def start_supernode(
    layout: LocalLayout, settings: LocalSettings, hospital: Hospital, index: int
) -> ProcessRecord:
    program = "fedcluster-supernode" if settings.quick_start else "flower-supernode"
    argv = [
        executable(program),
        "--superlink", settings.superlink_address,
        "--root-certificates", str(layout.pki.ca_certificate),
        "--auth-supernode-private-key", str(layout.pki.hospital_key(hospital)),
        "--isolation", "process",
        "--host", "127.0.0.1",
        "--port", str(settings.supernode_port(index)),
        "--node-config", str(layout.node_config(hospital)),
        "--superexec-auth-secret-file", str(layout.hospital_secret(hospital)),
    ]  # fmt: skip
    environment = flower_environment(layout.hospital_home(hospital))
    environment[SUPERNODE_POLL_VARIABLE] = str(settings.supernode_poll)
    return processes.start(
        argv,
        role="supernode",
        hospital=hospital.name,
        environment=environment,
        log_path=layout.log(f"{hospital.slug}.supernode"),
        cwd=layout.hospital_folder(hospital),
    )


def start_clientapp_superexec(
    layout: LocalLayout,
    settings: LocalSettings,
    hospital: Hospital,
    index: int,
    *,
    task_name: str,
) -> ProcessRecord:
    # The SuperNode's runtime API listens on loopback only; the shared secret,
    # not TLS, keeps other local programs from taking its tasks.
    program = "fedcluster-superexec" if settings.quick_start else "flower-superexec"
    argv = [
        executable(program),
        "--runtime-api-address", f"127.0.0.1:{settings.supernode_port(index)}",
        "--insecure",
        "--superexec-auth-secret-file", str(layout.hospital_secret(hospital)),
    ]  # fmt: skip
    environment = flower_environment(layout.hospital_home(hospital))
    environment[PRELOAD_VARIABLE] = task_module(task_name)
    return processes.start(
        argv,
        role="clientapp-superexec",
        hospital=hospital.name,
        environment=environment,
        log_path=layout.log(f"{hospital.slug}.superexec"),
        cwd=layout.hospital_folder(hospital),
    )

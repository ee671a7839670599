"""The rendered gate in front of a real Flower 1.42 SuperLink, on this machine.

Runs nginx with the gate configuration fedcluster renders (ports moved to free
ones, certificate paths to the rendered `tls/`), a real `flower-superlink`
with TLS and node authentication on loopback, and real SuperNodes. It shows
that the Fleet port passes Fleet routes only, the Control port Control routes
only, that a hospital registered through the Control port joins through the
Fleet port with its key, and that an unregistered key is refused there.

Needs an nginx binary (on PATH, or its path in FEDCLUSTER_TEST_NGINX);
skipped without one.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from k8s_helpers import render_example

from fedcluster.runtime.kubernetes import names
from fedcluster.runtime.kubernetes.gate import gate_config
from fedcluster.security.node_keys import new_node_key, private_openssh, public_openssh

NGINX = os.environ.get("FEDCLUSTER_TEST_NGINX") or shutil.which("nginx")
BIN = Path(sys.executable).parent
FLOWER_ENV = {"FLWR_TELEMETRY_ENABLED": "0", "FLWR_DISABLE_UPDATE_CHECK": "1"}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(NGINX is None, reason="no nginx binary to run the gate"),
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Gate:
    folder: Path
    tls: Path
    fleet: int
    control: int
    processes: list[subprocess.Popen[bytes]]

    def start(self, *command: str, log: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            list(command),
            cwd=self.folder,
            env={**os.environ, **FLOWER_ENV, "FLWR_HOME": str(self.folder / "home")},
            stdout=(self.folder / log).open("wb"),
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        return process

    def post(self, port: int, path: str) -> tuple[int, bytes]:
        context = ssl.create_default_context(cafile=str(self.tls / "ca.crt"))
        request = urllib.request.Request(
            f"https://localhost:{port}{path}", data=b"", method="POST"
        )
        try:
            with urllib.request.urlopen(request, context=context, timeout=10) as reply:
                return reply.status, reply.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def flwr(self, *args: str) -> dict[str, object]:
        done = subprocess.run(
            [str(BIN / "flwr"), *args, "--format", "json"],
            env={**os.environ, **FLOWER_ENV, "FLWR_HOME": str(self.folder / "home")},
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        document: dict[str, object] = json.loads(done.stdout)
        return document


@pytest.fixture
def gate(tmp_path: Path) -> Iterator[Gate]:
    rendered = render_example(tmp_path)
    tls = (rendered.folder / "tls").resolve()
    superlink_port, fleet, control = _free_port(), _free_port(), _free_port()
    config = (
        gate_config()
        .replace(names.TLS_DIR, str(tls))
        .replace(f"listen {names.FLEET_PORT} ", f"listen {fleet} ")
        .replace(f"listen {names.CONTROL_PORT} ", f"listen {control} ")
        .replace(f"127.0.0.1:{names.SUPERLINK_PORT}", f"127.0.0.1:{superlink_port}")
    )
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "gate.conf").write_text(config)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log stderr notice;\ndaemon off;\n"
        "events {}\nhttp {\n"
        f"  access_log {tmp_path}/access.log;\n"
        + "".join(
            f"  {kind}_temp_path {tmp_path}/{kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        + f"  include {tmp_path}/conf.d/*.conf;\n}}\n"
    )
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "config.toml").write_text(
        '[superlink]\ndefault = "gate"\n[superlink.gate]\n'
        f'address = "127.0.0.1:{control}"\nroot-certificates = "{tls}/ca.crt"\n'
    )
    running = Gate(tmp_path, tls, fleet, control, [])
    try:
        running.start(
            str(BIN / "flower-superlink"),
            "--ssl-ca-certfile", f"{tls}/ca.crt",
            "--ssl-certfile", f"{tls}/tls.crt",
            "--ssl-keyfile", f"{tls}/tls.key",
            "--enable-supernode-auth",
            "--database", str(tmp_path / "state.db"),
            "--isolation", "process",
            "--disable-runtime-dependency-installation",
            "--host", "127.0.0.1",
            "--port", str(superlink_port),
            log="superlink.log",
        )  # fmt: skip
        assert NGINX is not None
        running.start(
            NGINX,
            "-c",
            str(tmp_path / "nginx.conf"),
            "-p",
            str(tmp_path),
            log="nginx.log",
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if running.post(fleet, "/health")[0] == 405:  # GET-only: it answered
                    break
            except OSError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail("the SuperLink never answered through the gate")
        yield running
    finally:
        for process in reversed(running.processes):
            process.terminate()
        for process in running.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def _blocked_by_gate(reply: tuple[int, bytes]) -> bool:
    """nginx's own 404 page, as opposed to an answer from the SuperLink."""
    return reply[0] == 404 and b"<html>" in reply[1]


def test_each_port_passes_only_its_own_api(gate: Gate) -> None:
    # Act
    fleet = {
        api: gate.post(gate.fleet, f"/v1/{api}/x")
        for api in ("fleet", "control", "runtime")
    }
    control = {
        api: gate.post(gate.control, f"/v1/{api}/x")
        for api in ("fleet", "control", "runtime")
    }

    # Assert
    assert not _blocked_by_gate(fleet["fleet"])
    assert _blocked_by_gate(fleet["control"])
    assert _blocked_by_gate(fleet["runtime"])
    assert not _blocked_by_gate(control["control"])
    assert _blocked_by_gate(control["fleet"])
    assert _blocked_by_gate(control["runtime"])


def test_a_registered_hospital_joins_through_the_fleet_port_and_others_do_not(
    gate: Gate,
) -> None:
    # Prepare
    hospital, stranger = new_node_key(), new_node_key()
    (gate.folder / "hospital.key").write_bytes(private_openssh(hospital))
    (gate.folder / "hospital.pub").write_bytes(public_openssh(hospital, "hungary"))
    (gate.folder / "stranger.key").write_bytes(private_openssh(stranger))
    for key in ("hospital.key", "stranger.key"):
        (gate.folder / key).chmod(0o600)

    def supernode(key: str, port: int, log: str) -> subprocess.Popen[bytes]:
        return gate.start(
            str(BIN / "flower-supernode"),
            "--superlink", f"127.0.0.1:{port}",
            "--root-certificates", f"{gate.tls}/ca.crt",
            "--auth-supernode-private-key", key,
            "--isolation", "process",
            "--host", "127.0.0.1",
            "--port", str(_free_port()),
            "--max-retries", "0",
            log=log,
        )  # fmt: skip

    # Act
    registered = gate.flwr("supernode", "register", "hospital.pub", "gate")
    supernode("hospital.key", gate.fleet, "hospital.log")
    refused = supernode("stranger.key", gate.fleet, "stranger.log")
    misdirected = supernode("hospital.key", gate.control, "misdirected.log")
    deadline = time.monotonic() + 60
    status = ""
    while time.monotonic() < deadline and status != "online":
        time.sleep(1)
        nodes = gate.flwr("supernode", "list", "gate")["nodes"]
        assert isinstance(nodes, list)
        status = next(
            (n["status"] for n in nodes if n["node-id"] == str(registered["node-id"])),
            "",
        )
    refused.wait(timeout=60)
    misdirected.wait(timeout=60)

    # Assert
    assert status == "online"
    assert "2004" in (gate.folder / "stranger.log").read_text()
    assert "404 Not Found" in (gate.folder / "misdirected.log").read_text()

"""The local deployed runtime end to end: real Flower processes over TLS.

These tests start a real SuperLink and SuperNodes, so they are slow; the
module shares one running two-hospital federation where it can.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from local_helpers import (
    fedcluster,
    kill_everything_under,
    processes_under,
    write_federation,
)

from fedcluster.federation.load import load_federation
from fedcluster.federation.model import Federation
from fedcluster.runtime.local import (
    federation_status,
    restart_supernode,
    start_federation,
    stop_federation,
    submit_run,
    wait_for_run,
)
from fedcluster.runtime.local.environment import executable, flower_environment
from fedcluster.runtime.local.errors import LocalRuntimeError
from fedcluster.runtime.local.layout import LocalLayout
from fedcluster.runtime.local.state import read_state
from fedcluster.security.files import write_private
from fedcluster.security.node_keys import new_node_key, private_openssh
from fedcluster.security.pki import provision

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def _stray_supernode(
    federation: Federation, tmp_path: Path, *, key: Path, with_ca: bool
) -> tuple[int, str]:
    """Run one extra SuperNode against the running SuperLink until it gives up.

    Returns its exit code and its log.
    """
    settings = federation.local
    argv = [
        executable("flower-supernode"),
        "--superlink", settings.superlink_address,
        "--auth-supernode-private-key", str(key),
        "--port", str(settings.supernode_base_port + 50),
        "--max-retries", "2",
        "--max-wait-time", "20",
    ]  # fmt: skip
    if with_ca:
        ca = LocalLayout.of(federation).pki.ca_certificate
        argv += ["--root-certificates", str(ca)]
    home = tmp_path / "stray-home"
    home.mkdir(exist_ok=True)
    log = tmp_path / "stray.log"
    with log.open("wb") as output:
        stray = subprocess.Popen(
            argv,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=flower_environment(home),
            start_new_session=True,
        )
    try:
        code = stray.wait(timeout=120)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(stray.pid, signal.SIGKILL)
        stray.wait()
    return code, log.read_text(errors="replace")


def test_status_shows_the_superlink_and_every_hospital_online(
    running_federation: Federation,
) -> None:
    # Act
    assert running_federation.source is not None
    done = fedcluster(
        "status", "-f", str(running_federation.source), "--json",
        cwd=running_federation.source.parent,
    )  # fmt: skip

    # Assert
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert set(status) == {"superlink", "hospitals"}
    assert status["superlink"]["running"] is True
    assert isinstance(status["superlink"]["pid"], int)
    assert set(status["hospitals"]) == {"Cleveland", "Hungary"}
    for hospital in status["hospitals"].values():
        assert set(hospital) == {"pid", "running", "node"}
        assert hospital["running"] is True
        assert hospital["node"] == "online"


def test_up_refuses_to_start_a_federation_that_is_already_up(
    running_federation: Federation,
) -> None:
    # Act / Assert
    with pytest.raises(LocalRuntimeError, match=r"already up.*fedcluster down"):
        start_federation(running_federation)


def test_a_supernode_with_an_unregistered_key_is_refused(
    running_federation: Federation, tmp_path: Path
) -> None:
    # Prepare: a well-formed key that nobody registered.
    key = tmp_path / "intruder.key"
    write_private(key, private_openssh(new_node_key()))

    # Act
    code, log = _stray_supernode(running_federation, tmp_path, key=key, with_ca=True)

    # Assert
    assert code != 0
    assert "[code: 2004]" in log
    status = federation_status(running_federation)
    assert all(h.node == "online" for h in status.hospitals.values())


def test_a_supernode_without_the_federation_ca_cannot_connect(
    running_federation: Federation, tmp_path: Path
) -> None:
    # Prepare: a hospital's own, registered key, but no trust in our CA.
    pki = LocalLayout.of(running_federation).pki
    key = pki.hospital_key(running_federation.hospital("Cleveland"))

    # Act
    code, log = _stray_supernode(running_federation, tmp_path, key=key, with_ca=False)

    # Assert
    assert code != 0
    assert "certificate verify failed" in log.lower() or "ssl" in log.lower()


def test_a_submitted_run_completes_and_fills_the_run_store(
    running_federation: Federation, tmp_path: Path
) -> None:
    # Prepare
    run_dir = tmp_path / "runs" / "local-1"
    lines: list[str] = []
    repository_pyproject = Path(__file__).parents[2] / "pyproject.toml"
    pyproject_before = repository_pyproject.read_bytes()

    # Act
    run_id = submit_run(running_federation, run_dir)
    outcome = wait_for_run(running_federation, run_id, on_log=lines.append, timeout=500)

    # Assert
    assert outcome.completed, (outcome, lines[-20:])
    app = LocalLayout.of(running_federation).app
    assert [path.name for path in app.iterdir()] == ["pyproject.toml"]
    assert repository_pyproject.read_bytes() == pyproject_before
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed"
    assert summary["rounds_completed"] == 1
    assert summary["runtime"] == "local"
    assert summary["security"]["tls"] is True
    assert summary["security"]["node_authentication"] is True
    assert "centralized" not in summary["results"]["pooled"]
    assert any("aggregate" in line.lower() for line in lines)


def test_down_stops_every_process_up_started_and_nothing_else(
    tmp_path: Path, demo_data: Path
) -> None:
    # Prepare
    federation_file = write_federation(
        tmp_path, hospitals=["Cleveland"], data=demo_data
    )
    federation = load_federation(federation_file)
    provision(federation)
    bystander = subprocess.Popen(["sleep", "300"], cwd=tmp_path)
    try:
        up = fedcluster("up", "-f", str(federation_file), cwd=tmp_path)
        assert up.returncode == 0, up.stderr
        assert len(processes_under(tmp_path)) >= 4

        # Act
        down = fedcluster("down", "-f", str(federation_file), cwd=tmp_path)

        # Assert
        assert down.returncode == 0, down.stderr
        assert "stopped 4 processes" in down.stdout
        assert processes_under(tmp_path) == []
        assert bystander.poll() is None, "down stopped a process it did not start"
        assert not LocalLayout.of(federation).state_file.exists()
    finally:
        bystander.kill()
        bystander.wait()
        stop_federation(federation)
        assert kill_everything_under(tmp_path) == []


def test_a_supernode_that_cannot_start_is_named_and_nothing_is_left_running(
    tmp_path: Path, demo_data: Path
) -> None:
    # Prepare: Hungary's key no longer matches the one that gets registered.
    federation = load_federation(write_federation(tmp_path, data=demo_data))
    provision(federation)
    pki = LocalLayout.of(federation).pki
    hungary = federation.hospital("Hungary")
    write_private(pki.hospital_key(hungary), private_openssh(new_node_key()))

    try:
        # Act
        started = time.monotonic()
        with pytest.raises(LocalRuntimeError) as refused:
            start_federation(federation)

        # Assert
        message = str(refused.value)
        assert "hospital 'Hungary'" in message
        assert "2004" in message
        assert "hungary.supernode.log" in message
        assert time.monotonic() - started < 120
        assert processes_under(tmp_path) == []
    finally:
        stop_federation(federation)
        assert kill_everything_under(tmp_path) == []


def test_up_without_provisioned_keys_says_to_provision(tmp_path: Path) -> None:
    # Prepare
    federation_file = write_federation(tmp_path)

    # Act
    done = fedcluster("up", "-f", str(federation_file), cwd=tmp_path)

    # Assert
    assert done.returncode == 5
    assert "fedcluster provision" in done.stderr
    assert processes_under(tmp_path) == []


def test_a_supernode_killed_without_warning_rejoins_when_restarted(
    running_federation: Federation,
) -> None:
    # Prepare: SIGKILL leaves the SuperLink believing the old session is on.
    layout = LocalLayout.of(running_federation)
    state = read_state(layout.state_file)
    assert state is not None
    killed = state.supernode("Hungary")
    assert killed is not None
    os.killpg(killed.pgid, signal.SIGKILL)

    # Act
    restarted = restart_supernode(
        running_federation, running_federation.hospital("Hungary")
    )

    # Assert
    assert restarted.pid != killed.pid
    status = federation_status(running_federation)
    assert status.hospitals["Hungary"].running is True
    assert status.hospitals["Hungary"].node == "online"
    assert status.hospitals["Hungary"].pid == restarted.pid

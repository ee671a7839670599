"""Starting and stopping processes: whole groups, and only processes that are ours."""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

from fedcluster.runtime.local import processes
from fedcluster.runtime.local.state import LocalState, read_state, write_state


def _start_shell(tmp_path: Path, script: str) -> processes.ProcessRecord:
    shell = shutil.which("sh")
    assert shell is not None
    return processes.start(
        [shell, "-c", script],
        role="test",
        environment=dict(os.environ),
        log_path=tmp_path / "test.log",
        cwd=tmp_path,
    )


def test_stop_ends_a_process_and_the_children_it_started(tmp_path: Path) -> None:
    # Prepare: a shell that starts a child of its own, as a SuperExec does.
    record = _start_shell(tmp_path, "sleep 300 & echo $! > child.pid; wait")
    deadline = time.monotonic() + 10
    while not (tmp_path / "child.pid").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    child = int((tmp_path / "child.pid").read_text())

    # Act
    left = processes.stop([record], grace=5)

    # Assert
    assert left == []
    assert not processes.is_ours(record)
    assert processes.start_marker(child) is None


def test_a_pid_reused_by_another_program_is_never_signalled(tmp_path: Path) -> None:
    # Prepare: a record of "our" process whose start time no longer matches,
    # as after the pid was recycled for some other program.
    record = _start_shell(tmp_path, "sleep 300; true")
    impostor = record.model_copy(update={"start_marker": "1"})

    try:
        # Act
        left = processes.stop([impostor], grace=1)

        # Assert
        assert left == []
        assert processes.is_ours(record), "the other program was signalled"
    finally:
        processes.stop([record], grace=5)


def test_a_process_that_ignores_sigterm_is_killed_after_the_grace_period(
    tmp_path: Path,
) -> None:
    # Prepare
    record = _start_shell(tmp_path, "trap '' TERM; sleep 300 & wait; sleep 300")
    time.sleep(0.3)

    # Act
    started = time.monotonic()
    left = processes.stop([record], grace=1)

    # Assert
    assert left == []
    assert time.monotonic() - started < 10
    assert not processes.group_has_members(record.pgid)


def test_the_state_file_round_trips_every_record(tmp_path: Path) -> None:
    # Prepare
    record = _start_shell(tmp_path, "sleep 300; true")
    state = LocalState(
        federation="f", federation_file=None, superlink_address="127.0.0.1:1"
    )
    state.processes.append(record)

    try:
        # Act
        write_state(tmp_path / "state.json", state)
        again = read_state(tmp_path / "state.json")

        # Assert
        assert again is not None
        assert again.processes == [record]
        assert processes.is_ours(again.processes[0])
    finally:
        os.killpg(record.pgid, signal.SIGKILL)
        processes.stop([record], grace=1)


def test_the_telling_line_of_a_log_is_flowers_error_code(tmp_path: Path) -> None:
    # Prepare
    log = tmp_path / "supernode.log"
    log.write_text(
        "\x1b[92mINFO \x1b[0m: Starting Flower SuperNode\n"
        "\x1b[91mERROR \x1b[0m:     Exit Code: 305\n"
        "Failed to initialize the connection to the SuperLink.\n"
        "[code: 2004] Failed to activate SuperNode.\n"
        "INFO:     Finished server process [1]\n"
    )

    # Act
    line = processes.last_problem(log)

    # Assert
    assert line == "[code: 2004] Failed to activate SuperNode."


def test_a_process_is_recognised_as_ours_the_moment_it_has_started(
    tmp_path: Path,
) -> None:
    # Right after exec() the kernel briefly reports an empty command line;
    # that must not make `down` or `status` take our process for another.
    for _ in range(50):
        # Prepare / Act
        record = _start_shell(tmp_path, "sleep 300; true")
        try:
            # Assert
            assert processes.is_ours(record)
        finally:
            os.killpg(record.pgid, signal.SIGKILL)
            processes.stop([record], grace=1)

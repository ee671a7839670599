"""Helpers for the fault tests: federation files with short deadlines, and faults.

The fault tests share one running federation of three demo hospitals of
different sizes. Each test submits its own run, from a federation file of its
own that names the same ports, state folder and hospitals, so that they all
talk to the same SuperLink and SuperNodes.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from fedcluster.federation.load import load_federation
from fedcluster.federation.model import Federation
from fedcluster.runtime.local import processes
from fedcluster.runtime.local.commands import start_superlink
from fedcluster.runtime.local.layout import LocalLayout
from fedcluster.runtime.local.readiness import wait_for_superlink
from fedcluster.runtime.local.state import read_state, write_state

FAULT_HOSPITALS = ("Cleveland", "Hungary", "Switzerland")
TASKS_FOR_TESTS = Path(__file__).parents[1] / "tasks_for_tests"
# Where `faulty_tasks.SlowSwitzerlandOnce` notes each training it starts.
MARKERS_VARIABLE = "FEDCLUSTER_TEST_MARKERS"


def write_fault_federation(
    folder: Path,
    *,
    file_name: str,
    data: Path,
    superlink_port: int,
    hospitals: Sequence[str] = FAULT_HOSPITALS,
    rounds: int = 2,
    min_hospitals: int = 2,
    round_timeout: float = 180,
    quorum_deadline: float = 30,
    task: str = "heart",
) -> Path:
    """A federation file over the demo CSVs in `data`, with short deadlines."""
    lines = [
        'name = "faults"',
        'runtime = "local"',
        f"rounds = {rounds}",
        f"min_hospitals = {min_hospitals}",
        f"round_timeout = {round_timeout}",
        f"quorum_deadline = {quorum_deadline}",
        "seed = 0",
        "",
        "[task]",
        f'name = "{task}"',
        "",
        "[local]",
        f"superlink_port = {superlink_port}",
        f"supernode_base_port = {superlink_port + 1}",
        "startup_timeout = 120",
        "",
    ]
    for name in hospitals:
        path = data / (name.lower().replace(" ", "-") + ".csv")
        lines += ["[[hospital]]", f'name = "{name}"', f'data = "{path}"', ""]
    path = folder / file_name
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def metrics_lines(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / "metrics.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def summary_of(run_dir: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((run_dir / "summary.json").read_text())
    return result


def wait_until(
    condition: Callable[[], bool], *, timeout: float, what: str, every: float = 0.5
) -> None:
    """Poll `condition` until it holds; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(every)
    raise AssertionError(f"gave up after {timeout:.0f} s waiting for {what}")


def checkpoint_rounds(run_dir: Path) -> list[int]:
    """Rounds for which a checkpoint has been written."""
    folder = run_dir / "checkpoints"
    if not folder.exists():
        return []
    rounds = []
    for path in folder.iterdir():
        digits = "".join(c for c in path.stem if c.isdigit())
        if digits:
            rounds.append(int(digits))
    return sorted(rounds)


def kill_supernode(federation: Federation, hospital: str) -> int:
    """SIGKILL a hospital's SuperNode, as a power cut would; returns its pid.

    Returns once the process is gone: the kernel takes a moment to end it.
    """
    state = read_state(LocalLayout.of(federation).state_file)
    assert state is not None
    record = state.supernode(hospital)
    assert record is not None
    os.killpg(record.pgid, signal.SIGKILL)
    wait_until(
        lambda: not processes.is_ours(record),
        timeout=10,
        what=f"{hospital}'s SuperNode to die",
        every=0.05,
    )
    return record.pid


def kill_and_restart_superlink(federation: Federation) -> tuple[int, int]:
    """SIGKILL the SuperLink, start it again as `up` did; (old pid, new pid)."""
    layout = LocalLayout.of(federation)
    state = read_state(layout.state_file)
    assert state is not None
    old = state.superlink()
    assert old is not None
    os.killpg(old.pgid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(old.pid, 0)

    # The same command line `up` used: same database, certificates and port.
    new = start_superlink(layout, federation.local)
    state.processes = [r for r in state.processes if r != old] + [new]
    write_state(layout.state_file, state)
    wait_for_superlink(layout, federation.local, state)
    return old.pid, new.pid


def load(path: Path) -> Federation:
    return load_federation(path)

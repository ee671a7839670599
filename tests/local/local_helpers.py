"""Helpers for the local runtime tests: federation files, free ports, leak checks."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

HOSPITALS = ("Cleveland", "Hungary", "VA Long Beach", "Switzerland")


def free_port_block(count: int) -> int:
    """The first of `count` consecutive loopback ports that are free right now."""
    for _ in range(200):
        base = random.randint(20_000, 60_000 - count)
        if all(_is_free(base + offset) for offset in range(count)):
            return base
    raise RuntimeError("no block of free ports found")


def write_federation(
    folder: Path,
    *,
    hospitals: Sequence[str] = HOSPITALS[:2],
    data: Path | None = None,
    rounds: int = 1,
    extra: str = "",
) -> Path:
    """A federation file in `folder` with its own free ports; returns its path."""
    base = free_port_block(len(hospitals) + 1)
    lines = [
        'name = "local-test"',
        f"rounds = {rounds}",
        f"min_hospitals = {min(2, len(hospitals))}",
        "",
        "[local]",
        f"superlink_port = {base}",
        f"supernode_base_port = {base + 1}",
        "startup_timeout = 120",
        extra,
        "",
    ]
    for name in hospitals:
        file_name = name.lower().replace(" ", "-") + ".csv"
        path = (data / file_name) if data else Path("data") / file_name
        lines += ["[[hospital]]", f'name = "{name}"', f'data = "{path}"', ""]
    federation_file = folder / "federation.toml"
    federation_file.write_text("\n".join(lines))
    return federation_file


def fedcluster(
    *args: str, cwd: Path, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run the `fedcluster` command line as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "fedcluster", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        check=False,
        # A wide terminal, so tables never wrap a number across two lines.
        env={**os.environ, "COLUMNS": "200"},
    )


def processes_under(folder: Path) -> list[int]:
    """Pids of live processes started for the federation in `folder`.

    Every process the runtime starts, and every child those start, inherits
    an FLWR_HOME inside the federation's folder, so its environment names it.
    """
    marker = str(folder).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            stat = (entry / "stat").read_text()
            environment = (entry / "environ").read_bytes()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if stat[stat.rindex(")") + 2] == "Z":
            continue
        if marker in environment or marker in command:
            found.append(int(entry.name))
    return found


def kill_everything_under(folder: Path) -> list[int]:
    """SIGKILL what `processes_under` finds (test clean-up); the pids killed."""
    pids = processes_under(folder)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return pids


def _is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True

"""Starting, recognising and stopping the Flower processes of a local federation.

Each process is started as the leader of its own process group (a new
session), so the children it spawns — a SuperExec's ServerApp or ClientApp
processes — are stopped with it, and a Ctrl-C in the terminal that ran
`fedcluster up` does not reach them.

A pid alone is not proof: after a reboot or a long time it may belong to some
other program. A record therefore also keeps the process's start time as the
kernel reports it; a process is ours only if both the start time matches and
its command line names the executable we started. `stop` never signals a
process that fails this check.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from fedcluster.runtime.local.errors import LocalRuntimeError

logger = logging.getLogger(__name__)

_HAVE_PROC = Path("/proc/self/stat").exists()
_COLOUR = re.compile(r"\x1b\[[0-9;]*m")


class ProcessRecord(BaseModel):
    """One started process, as written to the state file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: str
    hospital: str | None = None
    pid: int
    pgid: int
    start_marker: str
    # Wall-clock seconds since the epoch when we started it, to tell events
    # of this process from those of an earlier one with the same role.
    started_at: float = 0.0
    argv: list[str]
    log: str

    @property
    def program(self) -> str:
        return Path(self.argv[0]).name

    @property
    def label(self) -> str:
        """`superlink` or `supernode of hospital 'Cleveland'`, for messages."""
        if self.hospital is None:
            return self.role
        return f"{self.role} of hospital {self.hospital!r}"


def start(
    argv: Sequence[str],
    *,
    role: str,
    hospital: str | None = None,
    environment: dict[str, str],
    log_path: Path,
    cwd: Path,
) -> ProcessRecord:
    """Start `argv` in a new session, appending its output to `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started_at = time.time()
    with log_path.open("ab") as log:
        log.write(f"\n=== fedcluster started: {' '.join(argv)}\n".encode())
        log.flush()
        try:
            process = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=environment,
                cwd=cwd,
                start_new_session=True,
            )
        except OSError as error:
            raise LocalRuntimeError(
                f"cannot start {argv[0]} ({role}): {error}"
            ) from error
    # We never wait() on the process: keep Python from warning about that
    # when the Popen object is collected.
    process.returncode = 0
    marker = start_marker(process.pid)
    if marker is None:
        raise LocalRuntimeError(
            f"{role}: {Path(argv[0]).name} exited at once; see {log_path}"
        )
    logger.debug("started %s (pid %d): %s", role, process.pid, " ".join(argv))
    return ProcessRecord(
        role=role,
        hospital=hospital,
        pid=process.pid,
        pgid=process.pid,
        start_marker=marker,
        started_at=started_at,
        argv=list(argv),
        log=str(log_path),
    )


def is_ours(record: ProcessRecord) -> bool:
    """Whether `record.pid` is alive and is still the process we started."""
    _reap(record.pid)
    marker = start_marker(record.pid)
    if marker is None or marker != record.start_marker:
        return False
    return record.program in _settled_command_line(record.pid)


def group_has_members(pgid: int) -> bool:
    """Whether any live (not zombie) process is in process group `pgid`.

    Zombies are left out: once dead, a process whose parent is gone waits for
    PID 1 to collect it, which in a container may take a while or never come.
    """
    if not _HAVE_PROC:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        if fields[2] == str(pgid) and fields[0] != "Z":
            return True
    return False


def stop(records: Sequence[ProcessRecord], *, grace: float) -> list[ProcessRecord]:
    """SIGTERM each record's process group, SIGKILL what is left after `grace` s.

    Returns the records whose processes could not be stopped.
    """
    signalled = [record for record in records if _signal_group(record, signal.SIGTERM)]
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_alive(r) for r in signalled):
        time.sleep(0.1)

    survivors = [record for record in signalled if _alive(record)]
    for record in survivors:
        logger.warning(
            "%s (pid %d) ignored SIGTERM for %.0f s; sending SIGKILL",
            record.label,
            record.pid,
            grace,
        )
        _signal_group(record, signal.SIGKILL)
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline and any(_alive(r) for r in survivors):
        time.sleep(0.1)
    return [record for record in survivors if _alive(record)]


def start_marker(pid: int) -> str | None:
    """The kernel's start time of `pid`, or None if it is gone or a zombie."""
    if _HAVE_PROC:
        try:
            text = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return None
        # Fields after the command name, which is in parentheses and may
        # itself contain spaces or parentheses.
        fields = text[text.rindex(")") + 2 :].split()
        if fields[0] == "Z":
            return None
        return fields[19]
    return _ps_field(pid, "lstart=")


def command_line(pid: int) -> str:
    """The command line of `pid`, or '' if it cannot be read."""
    if not _HAVE_PROC:
        return _ps_field(pid, "command=") or ""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace")


def _settled_command_line(pid: int) -> str:
    """The command line of `pid`, waiting out the moment around exec() when
    the kernel reports it empty."""
    for _ in range(50):
        line = command_line(pid)
        if line or start_marker(pid) is None:
            return line
        time.sleep(0.01)
    return ""


def _alive(record: ProcessRecord) -> bool:
    """Whether the leader is still ours, or its group still has members."""
    _reap(record.pid)
    if start_marker(record.pid) is not None:
        return is_ours(record)
    return group_has_members(record.pgid)


def _signal_group(record: ProcessRecord, signum: signal.Signals) -> bool:
    """Signal the record's process group if, and only if, it is still ours.

    A group whose leader has exited may still hold the leader's children; its
    id cannot be reused while they live, so signalling it is safe. A live
    leader that is not ours means the pid was reused: leave it alone.
    """
    if start_marker(record.pid) is not None and not is_ours(record):
        logger.warning(
            "pid %d no longer belongs to the %s we started; not signalling it",
            record.pid,
            record.label,
        )
        return False
    try:
        os.killpg(record.pgid, signum)
    except ProcessLookupError:
        return False
    return True


def _reap(pid: int) -> None:
    """Collect `pid`'s exit status if it is our own exited child."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _ps_field(pid: int, field: str) -> str | None:
    """One `ps -o FIELD` value, for systems without /proc (macOS)."""
    try:
        output = subprocess.run(
            ["ps", "-o", field, "-p", str(pid)],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return None
    value = output.stdout.strip()
    return value or None


def last_problem(log_path: Path, *, max_bytes: int = 20_000) -> str:
    """The most telling line near the end of a log: a Flower error code, an
    error, or else the last line; '' for an empty or missing log."""
    try:
        with log_path.open("rb") as log:
            log.seek(0, os.SEEK_END)
            log.seek(max(0, log.tell() - max_bytes))
            tail = log.read().decode(errors="replace")
    except OSError:
        return ""
    lines = [_plain(line) for line in tail.splitlines() if line.strip()]
    for marker in ("[code:", "Exit Code", "ERROR", "Error", "Traceback"):
        for line in reversed(lines):
            if marker in line:
                return line
    return lines[-1] if lines else ""


def _plain(line: str) -> str:
    """`line` without terminal colour codes and surrounding blanks."""
    return _COLOUR.sub("", line).strip()

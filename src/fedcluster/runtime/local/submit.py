"""Submitting a fedcluster run to the local SuperLink and following it to the end.

This is what `fedcluster run --runtime local` calls once `fedcluster up` has
started the federation:

    outcome = run_on_local_federation(federation, run_dir, on_log=print)

or, in steps, `submit_run` (returns Flower's run id at once) then
`wait_for_run`.

The run goes through the SuperLink's Control API over TLS (`flwr run`), with
the run config naming the federation file and the run folder the ServerApp
writes its run store into. The ClientApps learn their hospital and data file
from their SuperNode's node config, never from the run config.
"""

from __future__ import annotations

import logging
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from fedcluster.errors import RunError
from fedcluster.federation.model import Federation
from fedcluster.runtime.local import processes
from fedcluster.runtime.local.app_folder import (
    ConfigValue,
    write_app_folder,
    write_config_file,
)
from fedcluster.runtime.local.control import Control, ControlError
from fedcluster.runtime.local.environment import flower_environment
from fedcluster.runtime.local.errors import LocalRuntimeError
from fedcluster.runtime.local.layout import LocalLayout
from fedcluster.runtime.local.state import read_state

logger = logging.getLogger(__name__)

FINISHED = "finished"


@dataclass(frozen=True)
class FlowerRun:
    """How a run submitted to the SuperLink ended (or stands)."""

    run_id: int
    status: str  # "pending", "running", "finished:completed", "finished:failed"...
    details: str
    elapsed: float

    @property
    def finished(self) -> bool:
        return self.status.startswith(FINISHED)

    @property
    def completed(self) -> bool:
        return self.status == f"{FINISHED}:completed"


def submit_run(
    federation: Federation,
    run_dir: Path,
    *,
    extra_config: Mapping[str, ConfigValue] | None = None,
) -> int:
    """Start a run of the fedcluster app on the running local federation.

    `run_dir` is where the ServerApp writes the run store. Returns Flower's
    run id; the run goes on in the background (see `wait_for_run`).
    """
    layout = LocalLayout.of(federation)
    _require_up(federation, layout)
    if federation.source is None:
        raise LocalRuntimeError(
            "the local runtime needs a federation read from a file, because the "
            "ServerApp reads that file; save it and pass -f FILE"
        )

    app = write_app_folder(layout.app)
    values: dict[str, ConfigValue] = {
        "federation-file": str(federation.source),
        "run-dir": str(run_dir.resolve()),
        "runtime": "local",
        **(extra_config or {}),
    }
    # One config file per submission, named after nothing that can collide.
    config_file = layout.root / "run-configs" / f"{time.time_ns()}.toml"
    write_config_file(config_file, values)
    try:
        run_id = Control(layout).start_run(app, config_file)
    except ControlError as error:
        raise RunError(f"the SuperLink refused the run: {error}") from error
    finally:
        config_file.unlink(missing_ok=True)
    logger.info("submitted Flower run %d (run store %s)", run_id, run_dir)
    return run_id


def run_on_local_federation(
    federation: Federation,
    run_dir: Path,
    *,
    resume: bool = False,
    on_log: Callable[[str], None] | None = None,
    timeout: float | None = None,
) -> FlowerRun:
    """Submit a run, follow it to the end, and fail loudly if Flower failed it.

    The ServerApp writes the run store into `run_dir`; this returns once the
    SuperLink reports the run finished, raising RunError unless it completed.
    """
    run_id = submit_run(federation, run_dir, extra_config={"resume": resume})
    outcome = wait_for_run(federation, run_id, on_log=on_log, timeout=timeout)
    if not outcome.completed:
        details = "" if outcome.details in ("", "N/A") else f" ({outcome.details})"
        raise RunError(
            f"Flower run {run_id} ended {outcome.status}{details}; read its log "
            f"with `flwr log {run_id}` (FLWR_HOME="
            f"{LocalLayout.of(federation).flwr_home})"
        )
    return outcome


def run_status(federation: Federation, run_id: int) -> FlowerRun:
    """The SuperLink's current view of run `run_id`."""
    info = Control(LocalLayout.of(federation)).run_info(run_id)
    return FlowerRun(
        run_id=run_id,
        status=str(info.get("status", "unknown")),
        details=str(info.get("status-details", "")),
        elapsed=float(info.get("elapsed", 0.0)),
    )


def wait_for_run(
    federation: Federation,
    run_id: int,
    *,
    on_log: Callable[[str], None] | None = None,
    timeout: float | None = None,
) -> FlowerRun:
    """Follow run `run_id` until it finishes; its final status.

    `on_log` receives each line of the ServerApp's log as it arrives. The log
    stream ends when the run does; if it breaks earlier (the SuperLink
    restarting, say) it is reopened and lines already seen are skipped.
    Raises RunError if the run has not finished after `timeout` seconds.
    """
    layout = LocalLayout.of(federation)
    control = Control(layout)
    deadline = None if timeout is None else time.monotonic() + timeout
    seen = 0
    while True:
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        seen = _follow_log(layout, control, run_id, on_log, seen, remaining)
        try:
            outcome = run_status(federation, run_id)
        except ControlError as error:
            logger.info("run %d: status not available (%s); retrying", run_id, error)
            outcome = None
        if outcome is not None and outcome.finished:
            return outcome
        if deadline is not None and time.monotonic() >= deadline:
            status = outcome.status if outcome else "unknown"
            raise RunError(
                f"Flower run {run_id} did not finish within {timeout:.0f} s "
                f"(status {status}); stop it with `fedcluster down` or keep waiting"
            )
        time.sleep(2.0)


def _follow_log(
    layout: LocalLayout,
    control: Control,
    run_id: int,
    on_log: Callable[[str], None] | None,
    skip: int,
    timeout: float | None,
) -> int:
    """Stream the run's log once; returns how many lines have been seen."""
    stream = subprocess.Popen(
        control.log_command(run_id),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        text=True,
        env=flower_environment(layout.flwr_home),
        cwd=layout.root,
        start_new_session=True,
    )
    count = 0

    def read() -> None:
        nonlocal count
        assert stream.stdout is not None
        for line in stream.stdout:
            count += 1
            if count > skip and on_log is not None and _is_run_output(line):
                on_log(line.rstrip("\n"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        stream.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    finally:
        if stream.poll() is None:
            stream.terminate()
            stream.wait(timeout=10)
        reader.join(timeout=5)
    return max(count, skip)


def _is_run_output(line: str) -> bool:
    """Drop the CLI's own banner lines; keep what the ServerApp logged."""
    return "logstream for run_id" not in line and not line.startswith("Using SuperLink")


def _require_up(federation: Federation, layout: LocalLayout) -> None:
    state = read_state(layout.state_file)
    superlink = state.superlink() if state else None
    if superlink is None or not processes.is_ours(superlink):
        raise LocalRuntimeError(
            f"the local federation {federation.name!r} is not up; "
            "run `fedcluster up -f FILE` first"
        )

"""The ServerApp: drives the rounds and writes the run store.

In simulation the app is built in-process with the federation and run folder
already known (`build_server_app`). A deployed SuperLink loads `app`, which
reads both from the run config that `fedcluster run` submits
(`federation-file`, `run-dir`, and `resume` to continue from a checkpoint).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

from flwr.app import Context
from flwr.serverapp import Grid, ServerApp

from fedcluster.app.object_pulls import shorten_object_pull_retries
from fedcluster.app.rounds import FederatedRun
from fedcluster.federation.load import load_federation
from fedcluster.federation.model import Federation
from fedcluster.report.html import write_report
from fedcluster.report.summary import build_summary, write_summary

log = logging.getLogger(__name__)


def drive(
    federation: Federation,
    grid: Grid,
    run_dir: Path,
    *,
    resume: bool = False,
    site_baselines: bool = False,
    poll_interval: float = 0.05,
    pack_records: bool | None = None,
) -> None:
    """Run the federation on `grid`; always leave a summary.json behind."""
    started = datetime.now(UTC)
    run = FederatedRun(
        federation,
        grid,
        run_dir,
        site_baselines=site_baselines,
        poll_interval=poll_interval,
        pack_records=pack_records,
    )
    try:
        run.run(resume=resume)
    except Exception as error:
        log.error("run %s failed: %s", run_dir.name, error)
        summary = build_summary(
            run_dir, federation, status="failed", error=str(error), started_at=started
        )
        write_summary(run_dir, summary)
        _write_report(run_dir)
        raise
    summary = build_summary(run_dir, federation, status="completed", started_at=started)
    write_summary(run_dir, summary)
    _write_report(run_dir)


def _write_report(run_dir: Path) -> None:
    """Write report.html; a report that cannot be drawn never fails the run."""
    try:
        write_report(run_dir)
    except Exception as error:  # the run's own outcome matters more
        log.warning(
            "run %s: report.html not written (%s); retry with `fedcluster report %s`",
            run_dir.name,
            error,
            run_dir.name,
        )


def build_server_app(
    federation: Federation, run_dir: Path, *, resume: bool = False
) -> ServerApp:
    server_app = ServerApp()

    @server_app.main()
    def main(grid: Grid, context: Context) -> None:
        drive(federation, grid, run_dir, resume=resume)

    return server_app


app = ServerApp()


@app.main()
def _deployed_main(grid: Grid, context: Context) -> None:
    # Replies are pulled the moment they are listed, often before their
    # arrays are: retry those in milliseconds, not seconds.
    shorten_object_pull_retries()
    config = context.run_config
    federation = load_federation(Path(str(config["federation-file"])))
    # `fedcluster run --runtime` overrides the file; record the truth.
    federation = federation.on_runtime(str(config.get("runtime") or federation.runtime))
    run_dir = Path(str(config["run-dir"]))
    run_dir.mkdir(parents=True, exist_ok=True)
    drive(
        federation,
        grid,
        run_dir,
        resume=bool(config.get("resume", False)),
        site_baselines=True,
        poll_interval=float(config.get("poll-interval", 0.1)),
        pack_records=bool(config.get("pack-records", True)),
    )

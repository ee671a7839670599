"""Starting a run on whichever runtime the federation names.

Creates the run folder, keeps a copy of the federation file as it was run,
and hands over to the runtime. Every runtime fills the same run store.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from fedcluster.errors import FedclusterError, RunError
from fedcluster.federation.model import Federation
from fedcluster.report import store
from fedcluster.report.summary import build_summary, write_summary
from fedcluster.security.ledger import book_run, check_budget, settle_run

log = logging.getLogger(__name__)


def prepare_run(federation: Federation, runs_dir: Path | None = None) -> Path:
    """A new run folder holding a copy of the federation file.

    A run that would take a hospital past its privacy budget is refused here,
    before any folder exists or any hospital trains.
    """
    check_budget(federation)
    run_dir = store.create_run_dir(runs_dir or federation.runs_dir, federation.name)
    if federation.source is not None:
        shutil.copyfile(federation.source, run_dir / store.FEDERATION_COPY)
    book_run(federation, run_dir.name)
    log.info("run %s started in %s", run_dir.name, run_dir)
    return run_dir


def execute(federation: Federation, run_dir: Path, *, resume: bool = False) -> Any:
    """Run `federation` into `run_dir` on its runtime; return the summary.

    A run that fails before its ServerApp could record anything still gets a
    summary saying why, so `fedcluster runs` never shows it as unfinished.
    """
    if resume:
        book_run(federation, run_dir.name)  # the rest of the plan, or refuse
    try:
        return _dispatch(federation, run_dir, resume=resume)
    except FedclusterError as error:
        if store.read_summary(run_dir) is None:
            summary = build_summary(
                run_dir, federation, status="failed", error=str(error)
            )
            write_summary(run_dir, summary)
        raise
    finally:
        settle_run(federation, run_dir)  # what the run really spent


def _dispatch(federation: Federation, run_dir: Path, *, resume: bool) -> Any:
    if federation.runtime == "simulation":
        if resume:
            raise RunError(
                "--resume continues a deployed run; a simulated run is simply "
                "started again with `fedcluster run`"
            )
        from fedcluster.runtime.simulation import run_simulation

        return run_simulation(federation, run_dir)
    if federation.runtime == "local":
        from fedcluster.runtime.local.submit import run_on_local_federation

        try:
            run_on_local_federation(federation, run_dir, resume=resume)
        except RunError as error:
            # The ServerApp's own reason (quorum lost, say) says more than
            # Flower's "finished:failed"; it is in the summary it left.
            summary = store.read_summary(run_dir)
            if summary is not None and summary.get("error"):
                raise RunError(
                    f"run {run_dir.name} failed: {summary['error']}"
                ) from error
            raise
        return _finished_summary(run_dir)
    if federation.runtime == "kubernetes":
        from fedcluster.runtime.kubernetes.submission import run_on_kubernetes

        run_on_kubernetes(federation, run_dir, resume=resume)
        return _finished_summary(run_dir)
    raise RunError(
        f"unknown runtime {federation.runtime!r}; use simulation, local or kubernetes"
    )


def _finished_summary(run_dir: Path) -> Any:
    """The summary a deployed ServerApp left; a failed run raises its error."""
    summary = store.read_summary(run_dir)
    if summary is None:
        raise RunError(
            f"the run ended without a summary in {run_dir}; "
            "read the ServerApp's log with `flwr log`"
        )
    if summary.get("status") != "completed":
        raise RunError(f"run {run_dir.name} failed: {summary.get('error')}")
    return summary

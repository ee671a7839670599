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

log = logging.getLogger(__name__)


def prepare_run(federation: Federation, runs_dir: Path | None = None) -> Path:
    """A new run folder holding a copy of the federation file."""
    run_dir = store.create_run_dir(runs_dir or federation.runs_dir, federation.name)
    if federation.source is not None:
        shutil.copyfile(federation.source, run_dir / store.FEDERATION_COPY)
    log.info("run %s started in %s", run_dir.name, run_dir)
    return run_dir


def execute(federation: Federation, run_dir: Path, *, resume: bool = False) -> Any:
    """Run `federation` into `run_dir` on its runtime; return the summary.

    A run that fails before its ServerApp could record anything still gets a
    summary saying why, so `fedcluster runs` never shows it as unfinished.
    """
    try:
        return _dispatch(federation, run_dir, resume=resume)
    except FedclusterError as error:
        if store.read_summary(run_dir) is None:
            summary = build_summary(
                run_dir, federation, status="failed", error=str(error)
            )
            write_summary(run_dir, summary)
        raise


def _dispatch(federation: Federation, run_dir: Path, *, resume: bool) -> Any:
    if federation.runtime == "simulation":
        if resume:
            raise RunError(
                "--resume continues a deployed run; a simulated run is simply "
                "started again with `fedcluster run`"
            )
        from fedcluster.runtime.simulation import run_simulation

        return run_simulation(federation, run_dir)
    raise RunError(
        f"runtime {federation.runtime!r} cannot run from here yet; "
        'use runtime = "simulation"'
    )

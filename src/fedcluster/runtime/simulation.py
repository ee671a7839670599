"""Running a federation in Flower's simulation engine on this machine.

Every hospital is a virtual SuperNode whose ClientApp reads only that
hospital's file. Before Flower starts, each hospital's data is checked here,
so a malformed file stops the run at once with a one-line error rather than
after the simulation engine has started; the same checks run again inside
each ClientApp, as they do in deployment.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

from fedcluster.app.baselines import simulated_baselines
from fedcluster.app.rounds import write_baselines
from fedcluster.errors import RunError
from fedcluster.federation.model import Federation
from fedcluster.report import store
from fedcluster.tasks.base import Task
from fedcluster.tasks.registry import task_from_settings

log = logging.getLogger(__name__)


def load_sites(federation: Federation, task: Task[Any]) -> list[Any]:
    """Every hospital's data, checked; the first problem raises SiteDataError."""
    return [
        task.load_site(hospital.name, hospital.data, seed=federation.seed)
        for hospital in federation.hospitals
    ]


def run_simulation(federation: Federation, run_dir: Path) -> dict[str, Any]:
    """Train the federation in simulation into `run_dir`; return the summary."""
    task = task_from_settings(federation.task.model_dump())
    started = time.perf_counter()
    sites = load_sites(federation, task)
    log.info("checked %d hospitals' data", len(sites))

    epochs = federation.rounds * federation.local_epochs
    write_baselines(
        run_dir, simulated_baselines(task, sites, epochs=epochs, seed=federation.seed)
    )
    log.info("baselines done after %.1f s", time.perf_counter() - started)
    _run_flower(federation, run_dir)
    log.info("simulation done after %.1f s", time.perf_counter() - started)

    summary = store.read_summary(run_dir)
    if summary is None:
        raise RunError(
            f"the simulation ended without a summary in {run_dir}; "
            "run again with --debug to see Flower's log"
        )
    if summary["status"] != "completed":
        raise RunError(f"run {run_dir.name} failed: {summary.get('error')}")
    return summary


def _run_flower(federation: Federation, run_dir: Path) -> None:
    os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    from flwr.simulation import run_simulation as flower_run_simulation

    from fedcluster.app.client import build_client_app
    from fedcluster.app.server import build_server_app

    sites = [(hospital.name, hospital.data) for hospital in federation.hospitals]
    cpus = max(1, os.cpu_count() or 1)
    backend_config: dict[str, Any] = {
        "client_resources": {"num_cpus": 1, "num_gpus": 0.0},
        "init_args": {
            "num_cpus": cpus,
            "include_dashboard": False,
            "logging_level": logging.ERROR,
            "log_to_driver": False,
        },
    }
    flower_run_simulation(
        server_app=build_server_app(federation, run_dir),
        client_app=build_client_app(sites),
        num_supernodes=len(sites),
        backend_config=backend_config,
        verbose_logging=logging.getLogger("fedcluster").isEnabledFor(logging.DEBUG),
    )

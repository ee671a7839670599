"""Personalisation: a fourth column beside local-only, federated and centralized."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console

from fedcluster.app.baselines import simulated_baselines
from fedcluster.app.rounds import write_baselines
from fedcluster.cli.results import print_results
from fedcluster.federation.load import load_federation
from fedcluster.runtime.simulation import load_sites
from fedcluster.tasks.registry import task_from_settings
from inprocess import run_in_process


@pytest.fixture(autouse=True)
def quiet_flower() -> None:
    logging.getLogger("flwr").setLevel(logging.WARNING)


def test_each_hospital_gets_a_personalised_result_beside_the_three_others(
    demo_federation: Callable[..., Path], tmp_path: Path
) -> None:
    path = demo_federation(rounds=3)
    path.write_text(path.read_text() + "\n[personalisation]\nepochs = 5\n")
    federation = load_federation(path)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    # The local and centralized baselines, as a simulated run computes them.
    task = task_from_settings(federation.task.model_dump())
    baselines = simulated_baselines(
        task, load_sites(federation, task), epochs=3, seed=federation.seed
    )
    write_baselines(run_dir, baselines)

    summary, _ = run_in_process(federation, run_dir)

    for name in [h.name for h in federation.hospitals] + ["pooled"]:
        columns = summary["results"][name]
        assert {"local", "federated", "centralized", "personalised"} <= set(columns)
        assert 0.0 <= columns["personalised"]["auc"] <= 1.0
    assert summary["security"]["personalisation"] == {"local epochs after training": 5}
    console = Console(record=True, width=120)
    print_results(summary, console)
    assert "personalised" in console.export_text()


def test_without_the_option_no_personalised_column_appears(
    demo_federation: Callable[..., Path], tmp_path: Path
) -> None:
    summary, _ = run_in_process(
        load_federation(demo_federation(rounds=1)), tmp_path / "run"
    )

    assert "personalised" not in summary["results"]["pooled"]
    assert summary["security"]["personalisation"] is False

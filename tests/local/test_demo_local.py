"""`fedcluster demo --runtime local` against the simulated demo, same seed.

The deployed path moves the same model through real processes over TLS; the
federation it computes must be the simulated one's, and the command must
stop every process it started.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from local_helpers import fedcluster, kill_everything_under, processes_under

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def _pooled_federated_auc(runs_dir: Path) -> float:
    (run_dir,) = [p for p in runs_dir.iterdir() if (p / "summary.json").exists()]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed", summary.get("error")
    return float(summary["results"]["pooled"]["federated"]["auc"])


def test_the_deployed_demo_gives_the_simulated_demos_pooled_auc(
    tmp_path: Path,
) -> None:
    # Prepare
    deployed_folder = tmp_path / "deployed"
    simulated_folder = tmp_path / "simulated"

    # Act
    try:
        deployed = fedcluster(
            "demo", "--runtime", "local", "--rounds", "3", "--seed", "3",
            "--folder", str(deployed_folder / "demo"),
            "--runs-dir", str(deployed_folder / "runs"),
            cwd=tmp_path, timeout=500,
        )  # fmt: skip
        left_running = processes_under(deployed_folder)
    finally:
        kill_everything_under(deployed_folder)
    simulated = fedcluster(
        "demo", "--rounds", "3", "--seed", "3",
        "--folder", str(simulated_folder / "demo"),
        "--runs-dir", str(simulated_folder / "runs"),
        cwd=tmp_path, timeout=300,
    )  # fmt: skip

    # Assert
    assert deployed.returncode == 0, deployed.stderr[-2000:]
    assert simulated.returncode == 0, simulated.stderr[-2000:]
    assert left_running == []
    assert "stopped every process" in deployed.stdout
    deployed_auc = _pooled_federated_auc(deployed_folder / "runs")
    simulated_auc = _pooled_federated_auc(simulated_folder / "runs")
    assert abs(deployed_auc - simulated_auc) <= 0.01, (deployed_auc, simulated_auc)

"""The demo federation, trained for real in Flower's simulation engine."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-m", "fedcluster"]


def fedcluster(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FLWR_TELEMETRY_ENABLED": "0", "COLUMNS": "120"}
    return subprocess.run(
        [*CLI, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def test_the_demo_writes_a_complete_run_folder_and_federation_beats_local(
    tmp_path: Path,
) -> None:
    result = fedcluster(
        "demo", "--rounds", "4", "--seed", "1", "--runs-dir", "runs", cwd=tmp_path
    )

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert (run_dir / "federation.toml").read_text().startswith("# The fedcluster demo")
    assert (run_dir / "model.pt").exists()
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == [
        f"round-00{r}.pt" for r in range(1, 5)
    ]

    lines = [
        json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()
    ]
    assert [line["round"] for line in lines] == [0, 1, 2, 3, 4]
    assert lines[0]["contributors"] == []
    for line in lines[1:]:
        assert line["contributors"] == sorted(
            ["Cleveland", "Hungary", "Switzerland", "VA Long Beach"]
        )
        assert line["bytes_sent"] > 0 and line["bytes_received"] > 0
        assert set(line["hospitals"]) == set(line["contributors"])

    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed"
    assert summary["runtime"] == "simulation" and summary["rounds"] == 4
    assert summary["seed"] == 1
    for name in ("Cleveland", "Hungary", "VA Long Beach", "Switzerland", "pooled"):
        entry = summary["results"][name]
        assert {"local", "federated", "centralized"} <= set(entry)
        assert set(entry["federated"]) == {"auc", "accuracy"}
    pooled = summary["results"]["pooled"]
    assert pooled["federated"]["auc"] > pooled["local"]["auc"]
    assert summary["hospitals"]["Switzerland"]["rows"] == 123
    assert summary["seconds"]["per_round"] > 0

    # The terminal shows the side-by-side table with the gain.
    assert "local only" in result.stdout and "federated" in result.stdout
    assert "centralized" in result.stdout
    # Piped, as into a CI log: the results table starts on a line of its own.
    lines = result.stdout.splitlines()
    assert any(line.startswith("AUC on each hospital") for line in lines)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_malformed_file_at_one_hospital_stops_the_run_with_one_line(
    demo_federation: Callable[..., Path],
) -> None:
    federation_file = demo_federation(rounds=2)
    data = federation_file.parent / "data"
    hungary = data / "hungary.csv"
    text = hungary.read_text().splitlines()
    header = text[0].split(",")
    column = header.index("chol")
    broken_row = text[5].split(",")
    broken_row[column] = "high"
    text[5] = ",".join(broken_row)
    hungary.write_text("\n".join(text) + "\n")
    before = {p.name: digest(p) for p in data.iterdir()}

    result = fedcluster("run", "-f", str(federation_file), cwd=federation_file.parent)

    assert result.returncode == 3
    assert "Traceback" not in result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(error_lines) == 1, result.stderr
    assert "'Hungary'" in error_lines[0]
    assert "hungary.csv" in error_lines[0]
    assert "'chol'" in error_lines[0] and "1 non-numeric" in error_lines[0]
    assert {p.name: digest(p) for p in data.iterdir()} == before
    (run_dir,) = (federation_file.parent / "runs").iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "failed" and "'Hungary'" in summary["error"]

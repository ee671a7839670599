"""Three hospitals with skewed image collections, trained in Flower's simulation.

Each hospital mostly sees two of the four shapes, so a hospital training
alone cannot recognise the shapes it rarely sees, and federation should pay.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from image_helpers import shape_folder

pytestmark = pytest.mark.slow

# Each hospital: 60 images of each of its two main shapes, 6 of the others.
SKEW = {
    "North": ("circle", "square"),
    "East": ("square", "triangle"),
    "South": ("triangle", "cross"),
}
SHAPES = ("circle", "square", "triangle", "cross")


def skewed_federation(folder: Path, *, rounds: int) -> Path:
    tables = []
    for seed, (hospital, main) in enumerate(SKEW.items()):
        counts = {shape: 60 if shape in main else 6 for shape in SHAPES}
        shape_folder(folder / "data" / hospital.lower(), counts, seed=seed)
        tables.append(
            f'[[hospital]]\nname = "{hospital}"\ndata = "data/{hospital.lower()}"\n'
        )
    path = folder / "federation.toml"
    path.write_text(
        f'name = "skewed-shapes"\nrounds = {rounds}\nlocal_epochs = 3\n'
        'runs_dir = "runs"\n'
        '[task]\nname = "images"\n'
        f"classes = {json.dumps(list(SHAPES))}\n"
        "image_size = 16\nchannels = 1\n\n" + "\n".join(tables)
    )
    return path


def test_three_skewed_hospitals_gain_from_federation_on_the_pooled_test_set(
    tmp_path: Path,
) -> None:
    federation_file = skewed_federation(tmp_path, rounds=8)
    env = {**os.environ, "COLUMNS": "160", "FLWR_TELEMETRY_ENABLED": "0"}

    result = subprocess.run(
        [sys.executable, "-m", "fedcluster", "run", "-f", str(federation_file)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )

    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    (run_dir,) = (tmp_path / "runs").iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["task"] == "images"

    pooled = summary["results"]["pooled"]
    federated, local = pooled["federated"]["auc"], pooled["local"]["auc"]
    print(f"pooled AUC: federated {federated:.3f}, mean local-only {local:.3f}")
    assert federated > local + 0.05
    assert pooled["federated"]["accuracy"] > pooled["local"]["accuracy"]

    for hospital in SKEW:
        assert summary["hospitals"][hospital]["rows"] == 132
        assert set(summary["results"][hospital]) >= {"local", "federated", "gain"}

    lines = [
        json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()
    ]
    assert [line["round"] for line in lines] == list(range(9))
    assert lines[-1]["contributors"] == sorted(SKEW)
    assert lines[-1]["pooled"]["on_gpu"] == 0.0
    assert (run_dir / "model.pt").exists()


def test_the_example_that_init_writes_trains_end_to_end(tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "160", "FLWR_TELEMETRY_ENABLED": "0"}

    def fedcluster(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "fedcluster", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )

    written = fedcluster("init", "--task", "images")
    trained = fedcluster("run")

    assert written.returncode == 0, written.stderr
    assert trained.returncode == 0, trained.stdout[-2000:] + trained.stderr[-2000:]
    assert "Hospital A" in trained.stdout and "all test sets" in trained.stdout
    (run_dir,) = (tmp_path / "runs").iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    pooled = summary["results"]["pooled"]
    assert summary["status"] == "completed"
    assert pooled["federated"]["auc"] > pooled["local"]["auc"]

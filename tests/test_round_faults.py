"""What the server does with a bad update: reject it, record it, go on."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from fedcluster.app.rounds import check_update

HERE = Path(__file__).parent


def reference() -> dict[str, np.ndarray]:
    return {"0.weight": np.zeros((1, 4), np.float32), "0.bias": np.zeros(1, np.float32)}


def test_an_update_with_nan_values_is_rejected_with_the_array_named() -> None:
    update = reference()
    update["0.bias"] = np.array([np.nan], np.float32)

    assert check_update(update, reference()) == "'0.bias' holds NaN or infinite values"


def test_an_update_with_the_wrong_shape_is_rejected() -> None:
    update = reference()
    update["0.weight"] = np.zeros((2, 4), np.float32)

    problem = check_update(update, reference())

    assert problem is not None and "shape (2, 4)" in problem


def test_an_update_with_other_array_names_is_rejected() -> None:
    update = {"layer.weight": np.zeros((1, 4), np.float32)}

    problem = check_update(update, reference())

    assert problem is not None and "missing ['0.bias', '0.weight']" in problem


def test_a_well_formed_update_is_accepted() -> None:
    assert check_update(reference(), reference()) is None


@pytest.mark.slow
def test_a_hospital_sending_nan_is_left_out_of_each_round_and_recorded(
    demo_federation: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from fedcluster.federation.load import load_federation
    from fedcluster.runtime.launch import execute, prepare_run

    # Simulation workers import the user's task from PYTHONPATH, as a
    # deployed SuperNode would from its installed packages.
    monkeypatch.setenv("PYTHONPATH", str(HERE / "tasks_for_tests"))
    monkeypatch.syspath_prepend(str(HERE / "tasks_for_tests"))
    path = demo_federation(rounds=2)
    path.write_text(
        path.read_text().replace(
            'name = "heart"', 'name = "faulty_tasks:NaNFromSwitzerland"'
        )
    )
    federation = load_federation(path)
    run_dir = prepare_run(federation)

    summary = execute(federation, run_dir)

    lines = [
        json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()
    ]
    for line in lines[1:]:
        assert "Switzerland" not in line["contributors"]
        assert len(line["contributors"]) == 3
        assert "update rejected" in line["failures"]["Switzerland"]
        assert "NaN" in line["failures"]["Switzerland"]
    assert summary["status"] == "completed"
    assert summary["results"]["pooled"]["federated"]["auc"] > 0.8

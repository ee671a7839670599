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


def test_a_hospital_offline_for_rounds_is_recorded_as_offline_and_rejoins(
    demo_federation: Callable[..., Path], tmp_path: Path
) -> None:
    from flwr.app import Message

    from fedcluster.app import protocol
    from fedcluster.federation.load import load_federation
    from fedcluster.report.html import write_report
    from fedcluster.report.store import read_metrics
    from inprocess import run_in_process

    # Prepare: Switzerland (node 4) dies during round 2 and is back for round 5.
    rounds_seen: list[int] = []

    def dies_in_round_2(node: int, message: Message) -> bool:
        orders = message.content.config_records[protocol.INSTRUCTIONS]
        if orders["action"] == protocol.ROUND and node == 1:
            rounds_seen.append(int(orders["server-round"]))
        return node == 4 and orders.get("server-round") == 2

    def offline() -> list[int]:
        current = rounds_seen[-1] if rounds_seen else 0
        return [4] if 2 <= current < 4 else []

    federation = load_federation(demo_federation(rounds=5, round_timeout=0.5))
    run_dir = tmp_path / "run"

    # Act
    summary, _ = run_in_process(
        federation, run_dir, silence=dies_in_round_2, offline=offline
    )

    # Assert: asked and silent in round 2, not asked in 3 and 4, back in 5.
    assert summary["status"] == "completed"
    lines = {line["round"]: line for line in read_metrics(run_dir)}
    assert lines[2]["failures"] == {"Switzerland": "no reply within 0.5 s"}
    for server_round in (3, 4):
        assert lines[server_round]["offline"] == ["Switzerland"]
        assert lines[server_round]["failures"] == {}
        assert "Switzerland" not in lines[server_round]["contributors"]
    assert "Switzerland" in lines[5]["contributors"]
    assert lines[1]["offline"] == lines[5]["offline"] == []
    write_report(run_dir)
    report = (run_dir / "report.html").read_text()
    assert "Switzerland, round 3: not online when the round began" in report


@pytest.mark.parametrize(
    ("task", "reason"),
    [
        ("InfFromSwitzerland", "holds NaN or infinite values"),
        ("WrongShapeFromSwitzerland", "has shape (1, 45), expected (1, 44)"),
    ],
)
def test_a_hospital_sending_inf_or_wrong_shapes_is_rejected_and_recorded(
    demo_federation: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    task: str,
    reason: str,
) -> None:
    from fedcluster.federation.load import load_federation
    from fedcluster.report.store import read_metrics
    from inprocess import run_in_process

    # Prepare
    monkeypatch.syspath_prepend(str(HERE / "tasks_for_tests"))
    path = demo_federation(rounds=2)
    path.write_text(
        path.read_text().replace('name = "heart"', f'name = "faulty_tasks:{task}"')
    )

    # Act
    summary, _ = run_in_process(load_federation(path), tmp_path / "run")

    # Assert: left out of every round, with the reason; the others aggregated.
    assert summary["status"] == "completed"
    for line in read_metrics(tmp_path / "run")[1:]:
        assert line["contributors"] == ["Cleveland", "Hungary", "VA Long Beach"]
        assert line["failures"]["Switzerland"].startswith("update rejected: ")
        assert reason in line["failures"]["Switzerland"]
    assert summary["results"]["pooled"]["federated"]["auc"] > 0.8

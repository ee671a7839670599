"""Differential privacy: clipped and noised updates, epsilon recorded, budget kept."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from flwr.app import Message

from fedcluster.app import protocol
from fedcluster.app.checkpoint import latest_checkpoint
from fedcluster.errors import PrivacyBudgetError
from fedcluster.federation.load import load_federation
from fedcluster.federation.model import Federation
from fedcluster.security.accounting import gaussian_epsilon
from fedcluster.security.ledger import PrivacyLedger, settle_run
from fedcluster.tasks.registry import task_from_settings
from inprocess import InProcessGrid, run_in_process


@pytest.fixture(autouse=True)
def quiet_flower() -> None:
    logging.getLogger("flwr").setLevel(logging.WARNING)


def federation_with(
    demo_federation: Callable[..., Path], privacy: str, rounds: int = 1
) -> Federation:
    path = demo_federation(rounds=rounds)
    path.write_text(path.read_text() + "\n[privacy]\n" + privacy)
    return load_federation(path)


def first_round_update_norms(
    federation: Federation, grid: InProcessGrid
) -> dict[str, float]:
    """L2 norm of each hospital's update as the server received it in round 1."""
    task = task_from_settings(federation.task.model_dump())
    start = {
        name: tensor.numpy()
        for name, tensor in task.build_model(federation.seed).state_dict().items()
    }
    norms = {}
    for reply in grid.seen:
        if protocol.UPDATED_MODEL not in reply.content.array_records:
            continue
        trained = protocol.arrays_in(reply.content, protocol.UPDATED_MODEL)
        update = np.concatenate([(trained[n] - start[n]).ravel() for n in start])
        norms[_hospital(reply)] = float(np.linalg.norm(update))
    return norms


def _final_model(run_dir: Path) -> dict[str, np.ndarray]:
    checkpoint = latest_checkpoint(run_dir)
    assert checkpoint is not None
    return checkpoint.global_model


def _hospital(reply: Message) -> str:
    return str(reply.content.config_records[protocol.SITE]["hospital"])


def test_every_update_reaching_the_server_is_clipped_to_the_norm(
    demo_federation: Callable[..., Path], tmp_path: Path
) -> None:
    federation = federation_with(
        demo_federation, 'clipping_norm = 0.05\nnoise = "server"\n'
    )

    _, grid = run_in_process(federation, tmp_path / "run")

    norms = first_round_update_norms(federation, grid)
    assert len(norms) == 4
    assert all(norm <= 0.05 * (1 + 1e-4) for norm in norms.values())


def test_with_noise_at_the_hospital_the_server_never_sees_a_bare_clipped_update(
    demo_federation: Callable[..., Path], tmp_path: Path
) -> None:
    federation = federation_with(
        demo_federation,
        'clipping_norm = 0.05\nnoise_multiplier = 1.0\nnoise = "hospital"\n',
    )

    _, grid = run_in_process(federation, tmp_path / "run")

    # Noise of 0.05 per coordinate over 44 coordinates dwarfs a norm of 0.05.
    norms = first_round_update_norms(federation, grid)
    assert all(norm > 0.2 for norm in norms.values())


def test_epsilon_is_recorded_for_the_run_and_each_hospital_and_shown_in_the_report(
    demo_federation: Callable[..., Path], tmp_path: Path
) -> None:
    federation = federation_with(
        demo_federation, "noise_multiplier = 2.0\ndelta = 1e-6\n", rounds=3
    )

    summary, _ = run_in_process(federation, tmp_path / "run")

    expected = gaussian_epsilon(rounds=3, noise_multiplier=2.0, delta=1e-6)
    privacy = summary["privacy"]
    assert privacy["epsilon"] == pytest.approx(expected)
    assert privacy["hospitals"]["Switzerland"] == {
        "rounds": 3,
        "epsilon": pytest.approx(expected),
        "epsilon_all_runs": pytest.approx(expected),
        "budget": None,
    }
    assert "delta 1e-06" in summary["security"]["differential_privacy"]["epsilon"]
    assert "Differential privacy" in (tmp_path / "run" / "report.html").read_text()


def test_server_noise_moves_the_model_away_from_plain_fedavg(
    demo_federation: Callable[..., Path], tmp_path: Path
) -> None:
    clipped_only = federation_with(
        demo_federation, 'noise = "server"\nnoise_multiplier = 0.001\n', rounds=2
    )
    noised = federation_with(
        demo_federation, 'noise = "server"\nnoise_multiplier = 5.0\n', rounds=2
    )

    quiet, _ = run_in_process(clipped_only, tmp_path / "quiet")
    run_in_process(noised, tmp_path / "loud")

    # Clipped averages move the model at most 1.0 (the clipping norm) per
    # round, so two runs of two rounds end at most 4.0 apart without noise.
    # The noise (std 5 / 4 hospitals per weight and round, over dozens of
    # weights) carries the noised run several times further: its norm falls
    # under 4.0 with a probability far below one in a million.
    assert quiet["results"]["pooled"]["federated"]["auc"] > 0.8
    quiet_model = _final_model(tmp_path / "quiet")
    loud_model = _final_model(tmp_path / "loud")
    distance = np.sqrt(
        sum(np.sum((loud_model[k] - quiet_model[k]) ** 2) for k in quiet_model)
    )
    assert distance > 4.0


def test_the_ledger_counts_finished_runs_and_then_refuses_the_next_one(
    demo_federation: Callable[..., Path],
) -> None:
    from fedcluster.runtime.launch import prepare_run

    one_run = gaussian_epsilon(rounds=2, noise_multiplier=2.0, delta=1e-5)
    federation = federation_with(
        demo_federation,
        f"noise_multiplier = 2.0\nbudget = {one_run * 1.2:.3f}\n",
        rounds=2,
    )
    run_dir = prepare_run(federation)
    run_in_process(federation, run_dir)
    settle_run(federation, run_dir)

    with pytest.raises(PrivacyBudgetError, match="'Cleveland'") as refused:
        prepare_run(federation)

    assert "\n" not in str(refused.value)
    ledger = PrivacyLedger(federation.state_dir)
    assert ledger.runs()[run_dir.name]["rounds"]["Switzerland"] == 2
    assert ledger.epsilon_spent("Switzerland", 1e-5) == pytest.approx(one_run)

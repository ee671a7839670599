"""Epsilon for a run, and a ledger that refuses a run past a hospital's budget."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest

from fedcluster.errors import PrivacyBudgetError
from fedcluster.federation.options import DifferentialPrivacySettings
from fedcluster.security.accounting import epsilon_from_rho, gaussian_epsilon
from fedcluster.security.ledger import PrivacyLedger, rounds_spent

HOSPITALS = ["Cleveland", "Hungary", "VA Long Beach", "Switzerland"]


def exact_gaussian_epsilon(mu: float, delta: float) -> float:
    """Exact epsilon of a mu-GDP mechanism at delta, by bisection."""

    def phi(x: float) -> float:
        return 0.5 * math.erfc(-x / math.sqrt(2))

    low, high = 0.0, 500.0
    for _ in range(200):
        epsilon = (low + high) / 2
        spent = phi(-epsilon / mu + mu / 2) - math.exp(epsilon) * phi(
            -epsilon / mu - mu / 2
        )
        low, high = (epsilon, high) if spent > delta else (low, epsilon)
    return high


@pytest.mark.parametrize(
    ("rounds", "noise_multiplier"), [(1, 1.0), (5, 1.0), (20, 1.0), (30, 3.0)]
)
def test_the_accountant_never_understates_epsilon_and_stays_close_to_exact(
    rounds: int, noise_multiplier: float
) -> None:
    # Composed Gaussian releases are sqrt(rounds)/sigma-GDP, which has an
    # exact epsilon; RDP must bound it from above, and not loosely.
    exact = exact_gaussian_epsilon(math.sqrt(rounds) / noise_multiplier, 1e-5)

    accounted = gaussian_epsilon(
        rounds=rounds, noise_multiplier=noise_multiplier, delta=1e-5
    )

    assert exact <= accounted <= 1.15 * exact


def test_more_rounds_or_less_noise_spend_more_epsilon() -> None:
    base = gaussian_epsilon(rounds=10, noise_multiplier=1.0, delta=1e-5)

    assert gaussian_epsilon(rounds=20, noise_multiplier=1.0, delta=1e-5) > base
    assert gaussian_epsilon(rounds=10, noise_multiplier=0.5, delta=1e-5) > base
    assert epsilon_from_rho(0.0, 1e-5) == 0.0


def test_runs_add_up_in_the_ledger_until_the_next_run_is_refused(
    tmp_path: Path,
) -> None:
    privacy = DifferentialPrivacySettings(noise_multiplier=2.0, budget=15.0)
    ledger = PrivacyLedger(tmp_path)
    one_run = gaussian_epsilon(rounds=10, noise_multiplier=2.0, delta=1e-5)

    ledger.reserve(run_id="a", hospitals=HOSPITALS, rounds=10, privacy=privacy)
    ledger.settle(run_id="a", rounds_by_hospital=dict.fromkeys(HOSPITALS, 10), noise=2)
    ledger.reserve(run_id="b", hospitals=HOSPITALS, rounds=10, privacy=privacy)
    with pytest.raises(PrivacyBudgetError) as refused:
        ledger.reserve(run_id="c", hospitals=HOSPITALS, rounds=10, privacy=privacy)

    message = str(refused.value)
    assert "\n" not in message
    assert "'Cleveland'" in message and "budget 15" in message
    assert one_run < ledger.epsilon_spent("Cleveland", 1e-5) < 2 * one_run
    assert set(ledger.runs()) == {"a", "b"}


def test_a_hospital_with_its_own_smaller_budget_is_the_one_named(
    tmp_path: Path,
) -> None:
    privacy = DifferentialPrivacySettings(
        budget=100.0, hospital_budgets={"Switzerland": 3.0}
    )

    with pytest.raises(PrivacyBudgetError, match="'Switzerland'"):
        PrivacyLedger(tmp_path).reserve(
            run_id="a", hospitals=HOSPITALS, rounds=5, privacy=privacy
        )


def test_a_failed_run_is_charged_for_the_rounds_its_metrics_could_not_show() -> None:
    lines = [
        {"round": 0, "contributors": [], "failures": {}},
        {"round": 1, "contributors": ["Cleveland"], "failures": {"Hungary": "x"}},
    ]

    completed = rounds_spent(
        lines, ["Cleveland", "Hungary", "Bern"], completed=True, planned=5
    )
    failed = rounds_spent(
        lines, ["Cleveland", "Hungary", "Bern"], completed=False, planned=5
    )

    assert completed == {"Cleveland": 1, "Hungary": 1, "Bern": 0}
    assert failed == {"Cleveland": 3, "Hungary": 3, "Bern": 2}


def test_a_run_past_the_budget_is_refused_in_one_line_before_its_folder_exists(
    demo_federation: Callable[..., Path],
) -> None:
    from fedcluster.federation.load import load_federation
    from fedcluster.runtime.launch import prepare_run

    path = demo_federation(rounds=20)
    path.write_text(
        path.read_text() + "\n[privacy]\nnoise_multiplier = 1.0\nbudget = 5.0\n"
    )
    federation = load_federation(path)

    with pytest.raises(PrivacyBudgetError) as refused:
        prepare_run(federation)

    assert "\n" not in str(refused.value)
    assert "would take it to" in str(refused.value)
    assert not federation.runs_dir.exists() or not any(federation.runs_dir.iterdir())

"""A poisoned update drags FedAvg off; the robust strategies hold their ground.

Runs go through the real ServerApp loop and ClientApp (mods included) in this
process (see `inprocess`); the poisoned update is made at the hospital by the
test-only `[attack]` option and travels the ordinary message path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from fedcluster.errors import FederationFileError
from fedcluster.federation.load import load_federation
from inprocess import run_in_process

ROUNDS = 5
ATTACK = '\n[attack]\nhospital = "Switzerland"\nscale = -10.0\n'


@pytest.fixture(autouse=True)
def quiet_flower() -> None:
    logging.getLogger("flwr").setLevel(logging.WARNING)


def pooled_auc(
    demo_federation: Callable[..., Path], tmp_path: Path, strategy: str, extra: str
) -> float:
    path = demo_federation(rounds=ROUNDS)
    text = path.read_text().replace('[strategy]\nname = "fedavg"', strategy)
    path.write_text(text + extra)
    run_dir = tmp_path / "runs" / f"{abs(hash((strategy, extra)))}"
    summary, _ = run_in_process(load_federation(path), run_dir)
    assert summary["status"] == "completed", summary["error"]
    return float(summary["results"]["pooled"]["federated"]["auc"])


@pytest.fixture
def clean_fedavg_auc(demo_federation: Callable[..., Path], tmp_path: Path) -> float:
    return pooled_auc(demo_federation, tmp_path, '[strategy]\nname = "fedavg"', "")


def test_a_poisoned_update_drags_fedavg_well_below_the_clean_run(
    demo_federation: Callable[..., Path], tmp_path: Path, clean_fedavg_auc: float
) -> None:
    attacked = pooled_auc(
        demo_federation, tmp_path, '[strategy]\nname = "fedavg"', ATTACK
    )

    assert attacked < clean_fedavg_auc - 0.02


@pytest.mark.parametrize(
    "strategy",
    [
        '[strategy]\nname = "fedmedian"',
        '[strategy]\nname = "fedtrimmedavg"\nbeta = 0.25',
        # Multi-Krum: plain Krum keeps one update, and with four hospitals two
        # honest ones often tie as each other's nearest neighbour.
        '[strategy]\nname = "krum"\nnum_malicious_nodes = 1\nnum_nodes_to_select = 3',
    ],
    ids=["fedmedian", "fedtrimmedavg", "multi-krum"],
)
def test_a_robust_strategy_keeps_pooled_auc_within_002_of_the_clean_run(
    demo_federation: Callable[..., Path],
    tmp_path: Path,
    clean_fedavg_auc: float,
    strategy: str,
) -> None:
    attacked = pooled_auc(demo_federation, tmp_path, strategy, ATTACK)

    assert attacked > clean_fedavg_auc - 0.02


def test_the_attack_and_the_robust_strategy_are_recorded_for_the_report(
    demo_federation: Callable[..., Path], tmp_path: Path
) -> None:
    path = demo_federation(rounds=2)
    text = path.read_text().replace(
        '[strategy]\nname = "fedavg"', '[strategy]\nname = "fedmedian"'
    )
    path.write_text(text + ATTACK)

    summary, _ = run_in_process(load_federation(path), tmp_path / "run")

    security = summary["security"]
    assert security["robust_aggregation"] == {"strategy": "fedmedian"}
    assert security["poisoning_attack_for_testing"]["hospital"] == "Switzerland"
    assert summary["strategy"] == "fedmedian"


@pytest.mark.parametrize(
    ("strategy", "says"),
    [
        ('name = "fedtrimmedavg"\nbeta = 0.2', "trims no hospital out of 4"),
        ('name = "krum"\nnum_malicious_nodes = 2', "needs at least 5 hospitals"),
    ],
)
def test_robust_settings_that_cannot_work_with_four_hospitals_are_refused(
    demo_federation: Callable[..., Path], strategy: str, says: str
) -> None:
    path = demo_federation()
    path.write_text(path.read_text().replace('name = "fedavg"', strategy))

    with pytest.raises(FederationFileError, match=says) as refused:
        load_federation(path)

    assert "\n" not in str(refused.value)

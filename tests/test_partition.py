"""Simulated hospitals split from one table: how many, which rows, how skewed."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fedcluster.data.partition import SplitPlan, split_table
from fedcluster.errors import FederationFileError
from fedcluster.federation.load import load_federation


def patients(rows: int = 600, positive_rate: float = 0.3) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame(
        {
            "patient": np.arange(rows),
            "age": rng.normal(60, 10, rows).round(1),
            "chol": rng.normal(220, 30, rows).round(0),
            "target": (rng.random(rows) < positive_rate).astype(int),
            "site": rng.choice(["North", "South", "East"], rows),
        }
    )


def patient_ids(parts: list[tuple[str, pd.DataFrame]]) -> list[int]:
    return sorted(int(i) for _, rows in parts for i in rows["patient"])


def positive_rates(parts: list[tuple[str, pd.DataFrame]]) -> np.ndarray:
    return np.array([rows["target"].mean() for _, rows in parts])


@pytest.mark.parametrize(
    "plan",
    [
        SplitPlan(partition="iid", hospitals=7, label="target"),
        SplitPlan(partition="dirichlet", hospitals=12, alpha=0.5, label="target"),
    ],
    ids=["iid", "dirichlet"],
)
def test_a_split_gives_the_requested_hospitals_and_every_row_exactly_once(
    plan: SplitPlan,
) -> None:
    table = patients()

    parts = split_table(table, plan)

    assert len(parts) == plan.hospitals
    assert len({name for name, _ in parts}) == plan.hospitals
    assert patient_ids(parts) == list(range(len(table)))
    assert all(len(rows) >= plan.min_rows for _, rows in parts)


def test_a_natural_split_makes_one_hospital_per_value_and_drops_that_column() -> None:
    table = patients()

    parts = split_table(table, SplitPlan(partition="natural", by="site"))

    assert [name for name, _ in parts] == ["East", "North", "South"]
    assert patient_ids(parts) == list(range(len(table)))
    for name, rows in parts:
        assert "site" not in rows.columns
        expected = set(table.loc[table["site"] == name, "patient"])
        assert set(rows["patient"]) == expected


def test_iid_hospitals_are_shuffled_and_the_same_seed_gives_the_same_split() -> None:
    table = patients()
    plan = SplitPlan(partition="iid", hospitals=4, seed=3)

    first = split_table(table, plan)
    again = split_table(table, plan)
    other_seed = split_table(table, SplitPlan(partition="iid", hospitals=4, seed=4))

    assert [list(r["patient"]) for _, r in first] == [
        list(r["patient"]) for _, r in again
    ]
    assert list(first[0][1]["patient"]) != list(range(150))  # not file order
    assert list(first[0][1]["patient"]) != list(other_seed[0][1]["patient"])


def test_a_small_dirichlet_alpha_skews_labels_far_more_than_a_large_one() -> None:
    table = patients(rows=2_000)

    skewed = split_table(
        table, SplitPlan(partition="dirichlet", hospitals=10, alpha=0.1, label="target")
    )
    alike = split_table(
        table, SplitPlan(partition="dirichlet", hospitals=10, alpha=100, label="target")
    )

    assert positive_rates(skewed).std() > 0.2
    assert positive_rates(alike).std() < 0.05


def test_hospitals_drawn_with_too_few_rows_are_topped_up_and_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    table = patients(rows=1_000)
    plan = SplitPlan(
        partition="dirichlet", hospitals=60, alpha=0.3, label="target", min_rows=10
    )

    with caplog.at_level(logging.WARNING, logger="fedcluster"):
        parts = split_table(table, plan)

    assert min(len(rows) for _, rows in parts) >= 10
    assert patient_ids(parts) == list(range(len(table)))
    assert "fewer than simulation.min_rows = 10 rows" in caplog.text


def test_a_hospital_left_with_one_class_is_kept_and_a_warning_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    table = patients(rows=1_000)
    plan = SplitPlan(partition="dirichlet", hospitals=20, alpha=0.05, label="target")

    with caplog.at_level(logging.WARNING, logger="fedcluster"):
        parts = split_table(table, plan)

    single = [name for name, rows in parts if rows["target"].nunique() == 1]
    assert single, "alpha = 0.05 should leave some hospital with one class"
    assert len(parts) == 20
    assert "hold only one class of 'target'" in caplog.text


def test_more_hospitals_than_the_rows_allow_is_refused_in_one_line() -> None:
    with pytest.raises(FederationFileError) as caught:
        split_table(patients(rows=50), SplitPlan(partition="iid", hospitals=10))

    message = str(caught.value)
    assert "\n" not in message
    assert "lower simulation.hospitals" in message


def write_federation(folder: Path, simulation: str) -> Path:
    patients().to_csv(folder / "patients.csv", index=False)
    path = folder / "federation.toml"
    path.write_text(
        'name = "split"\n'
        "[task]\n"
        'label = "target"\n'
        'features = ["age", "chol"]\n'
        'ignore_columns = ["patient", "site"]\n'
        f"[simulation]\n{simulation}\n",
        encoding="utf-8",
    )
    return path


def test_a_federation_file_with_simulation_lists_hospitals_each_with_its_own_file(
    tmp_path: Path,
) -> None:
    path = write_federation(
        tmp_path,
        'data = "patients.csv"\npartition = "dirichlet"\nhospitals = 8\nalpha = 1.0',
    )

    federation = load_federation(path)
    again = load_federation(path)

    assert [h.name for h in federation.hospitals] == [
        f"hospital-{i:03d}" for i in range(1, 9)
    ]
    files = [h.data for h in federation.hospitals]
    assert len(set(files)) == 8
    assert all(
        f.is_file() and f.is_relative_to(tmp_path / ".fedcluster") for f in files
    )
    rows = pd.concat([pd.read_csv(f) for f in files])
    assert sorted(rows["patient"]) == list(range(600))
    # Loading again reuses the files rather than splitting anew.
    assert [h.data for h in again.hospitals] == files


@pytest.mark.parametrize(
    ("simulation", "expected"),
    [
        (
            'data = "patients.csv"\npartition = "iid"\nhospitals = 4\nalpah = 1',
            "key simulation.alpah",
        ),
        ('data = "patients.csv"\npartition = "dirichlet"\nhospitals = 4', "alpha"),
        (
            'data = "patients.csv"\npartition = "iid"\nhospitals = 4\nby = "site"',
            "simulation.by only applies",
        ),
        ('data = "patients.csv"\npartition = "random"\nhospitals = 4', "partition"),
        ('data = "patients.csv"\npartition = "natural"\nby = "ward"', "'ward'"),
        ('data = "missing.csv"\npartition = "iid"\nhospitals = 4', "simulation.data"),
    ],
    ids=["misspelt", "no-alpha", "by-with-iid", "unknown", "no-column", "no-file"],
)
def test_a_bad_simulation_table_gives_one_line_naming_the_key(
    tmp_path: Path, simulation: str, expected: str
) -> None:
    path = write_federation(tmp_path, simulation)

    with pytest.raises(FederationFileError) as caught:
        load_federation(path)

    message = str(caught.value)
    assert "\n" not in message
    assert expected in message
    assert message.startswith(str(path))


def test_a_natural_hospital_with_too_few_rows_is_left_out_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    table = patients()
    table.loc[:2, "site"] = "Tiny"

    with caplog.at_level(logging.WARNING, logger="fedcluster"):
        parts = split_table(table, SplitPlan(partition="natural", by="site"))

    assert "Tiny" not in [name for name, _ in parts]
    assert "left out 'Tiny': 3 row(s)" in caplog.text

"""A hospital's own file: the checks, and the errors its data manager would read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fedcluster.errors import SiteDataError
from fedcluster.tasks.heart import HeartParams, HeartTask

FEATURES = ["age", "chol"]


def task(**params: object) -> HeartTask:
    return HeartTask(HeartParams.model_validate({"features": FEATURES, **params}))


def write(
    tmp_path: Path, rows: dict[str, list[object]], name: str = "site.csv"
) -> Path:
    path = tmp_path / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def good_rows(n: int = 40) -> dict[str, list[object]]:
    rng = np.random.default_rng(1)
    return {
        "age": list(rng.integers(30, 80, n)),
        "chol": list(rng.integers(150, 300, n)),
        "target": [i % 2 for i in range(n)],
    }


def load_error(tmp_path: Path, rows: dict[str, list[object]], **params: object) -> str:
    path = write(tmp_path, rows)
    with pytest.raises(SiteDataError) as caught:
        task(**params).load_site("St Mary", path, seed=0)
    message = str(caught.value)
    assert message.startswith("hospital 'St Mary': ")
    assert str(path) in message
    assert "\n" not in message
    return message


def test_a_missing_column_is_named(tmp_path: Path) -> None:
    rows = good_rows()
    del rows["chol"]

    message = load_error(tmp_path, rows)

    assert "column 'chol' missing (all 40 rows)" in message


def test_an_extra_column_is_refused_unless_ignored(tmp_path: Path) -> None:
    rows = {**good_rows(), "patient_id": list(range(40))}

    message = load_error(tmp_path, rows)
    assert "unexpected column 'patient_id'" in message
    assert "ignore_columns" in message

    site = task(ignore_columns=["patient_id"]).load_site(
        "St Mary", write(tmp_path, rows, "ok.csv"), seed=0
    )
    assert site.train_x.shape[1] == 2


def test_non_numeric_values_are_counted(tmp_path: Path) -> None:
    rows = good_rows()
    rows["age"][3] = "sixty"
    rows["age"][7] = "n/a?"

    message = load_error(tmp_path, rows)

    assert "column 'age' has 2 non-numeric value(s)" in message


def test_a_label_outside_zero_and_one_is_counted(tmp_path: Path) -> None:
    rows = good_rows()
    rows["target"][0] = 2
    rows["target"][1] = 3

    message = load_error(tmp_path, rows)

    assert "'target' (the label) has 2 value(s) other than 0 or 1" in message


def test_missing_labels_are_counted(tmp_path: Path) -> None:
    rows = good_rows()
    rows["target"][5] = None

    message = load_error(tmp_path, rows)

    assert "is empty in 1 row(s)" in message


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("")

    with pytest.raises(SiteDataError, match="the file is empty"):
        task().load_site("St Mary", path, seed=0)


def test_a_header_without_rows_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("age,chol,target\n")

    with pytest.raises(SiteDataError, match="has no rows"):
        task().load_site("St Mary", path, seed=0)


def test_a_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(SiteDataError, match="no such file"):
        task().load_site("St Mary", tmp_path / "gone.csv", seed=0)


def test_parquet_files_are_read_like_csv(tmp_path: Path) -> None:
    path = tmp_path / "site.parquet"
    pd.DataFrame(good_rows()).to_parquet(path)

    site = task().load_site("St Mary", path, seed=0)

    assert len(site.train_y) + len(site.test_y) == 40


def test_missing_values_and_missing_codes_become_nan_for_imputation(
    tmp_path: Path,
) -> None:
    rows = good_rows()
    rows["chol"][0] = 0
    rows["chol"][1] = None

    site = task(missing_codes={"chol": 0}).load_site(
        "St Mary", write(tmp_path, rows), seed=0
    )

    assert task().profile(site).missing["chol"] == 2


def test_the_split_is_fixed_by_the_seed_and_keeps_both_classes(tmp_path: Path) -> None:
    path = write(tmp_path, good_rows(60))

    first = task().load_site("St Mary", path, seed=3)
    again = task().load_site("St Mary", path, seed=3)
    other = task().load_site("St Mary", path, seed=4)

    assert np.array_equal(first.test_x, again.test_x)
    assert not np.array_equal(first.test_x, other.test_x)
    assert set(first.test_y) == {0.0, 1.0}
    assert abs(len(first.test_y) - 15) <= 1  # a quarter, rounded per class


def test_check_command_profiles_every_hospital_with_counts_only(
    demo_federation: object,
) -> None:
    from typer.testing import CliRunner

    from fedcluster.cli.app import _register, app

    _register()
    path = demo_federation()  # type: ignore[operator]

    result = CliRunner().invoke(app, ["check", "-f", str(path)])

    assert result.exit_code == 0, result.output
    assert "Switzerland" in result.output and "123" in result.output
    assert "all hospitals' data is usable" in result.output


def test_check_exits_3_and_names_the_unusable_hospital(
    demo_federation: object,
) -> None:
    import subprocess
    import sys

    path = demo_federation()  # type: ignore[operator]
    (path.parent / "data" / "switzerland.csv").write_text("age,target\n50,1\n")

    result = subprocess.run(
        [sys.executable, "-m", "fedcluster", "check", "-f", str(path)],
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", "PATH": ""},
    )

    assert result.returncode == 3
    assert "hospital 'Switzerland'" in result.stdout
    assert "missing" in result.stdout

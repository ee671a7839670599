"""Shared fixtures: the demo hospitals' files, and a federation file over them."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The four demo hospitals' CSVs, written once per test session."""
    from fedcluster.data.demo import write_demo_data

    folder = tmp_path_factory.mktemp("demo")
    write_demo_data(folder)
    return folder / "data"


@pytest.fixture
def demo_federation(tmp_path: Path, demo_data: Path) -> Callable[..., Path]:
    """Write a demo federation file into a fresh folder; return its path.

    The hospitals' CSVs are copied so that a test may damage one of them.
    """
    import shutil

    from fedcluster.federation.templates import demo_federation as template

    def write(rounds: int = 3, seed: int = 0, **overrides: object) -> Path:
        data = tmp_path / "data"
        shutil.copytree(demo_data, data, dirs_exist_ok=True)
        hospitals = [
            ("Cleveland", data / "cleveland.csv"),
            ("Hungary", data / "hungary.csv"),
            ("VA Long Beach", data / "va-long-beach.csv"),
            ("Switzerland", data / "switzerland.csv"),
        ]
        text = template(hospitals, rounds=rounds, seed=seed, runs_dir=Path("runs"))
        for key, value in overrides.items():
            text = text.replace(f"\n{key} = ", f"\n# replaced {key} = ")
            text = f"{key} = {value}\n" + text
        path = tmp_path / "federation.toml"
        path.write_text(text, encoding="utf-8")
        return path

    return write

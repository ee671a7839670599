"""One image collection split into simulated hospitals' image folders."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fedcluster.data.image_partition import (
    materialise_image_split,
    read_image_pool,
    split_pool,
)
from fedcluster.data.partition import SplitPlan
from fedcluster.errors import FederationFileError
from fedcluster.federation.load import load_federation
from fedcluster.tasks.registry import task_from_settings
from image_helpers import even_shapes, shape_folder


def image_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*.png"))


def fake_cifar(folder: Path, per_batch: int = 30) -> Path:
    """CIFAR-10's python batches in the archive's format, with random pixels."""
    folder.mkdir(parents=True)
    names = [b"airplane", b"automobile", b"bird", b"cat", b"deer"]
    names += [b"dog", b"frog", b"horse", b"ship", b"truck"]
    with (folder / "batches.meta").open("wb") as handle:
        pickle.dump({b"label_names": names}, handle)
    rng = np.random.default_rng(0)
    for batch in ["data_batch_1", "data_batch_2", "test_batch"]:
        content = {
            b"data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
            b"labels": [i % 10 for i in range(per_batch)],
        }
        with (folder / batch).open("wb") as handle:
            pickle.dump(content, handle)
    return folder


def test_an_iid_split_puts_every_image_in_exactly_one_hospital_folder(
    tmp_path: Path,
) -> None:
    source = even_shapes(tmp_path / "pool", per_class=15)
    plan = SplitPlan(partition="iid", hospitals=3, seed=0)

    hospitals = materialise_image_split(source, plan, cache_dir=tmp_path / "cache")

    assert [h.rows for h in hospitals] == [20, 20, 20]
    held = [(h.path.name, image_files(h.path)) for h in hospitals]
    everything = sorted(f"{p.parent.name}/{p.name}" for p in source.rglob("*.png"))
    written = sorted(
        f"{p.parent.name}/{p.name}" for h in hospitals for p in h.path.rglob("*.png")
    )
    assert written == everything
    assert len({name for name, _ in held}) == 3


def test_split_hospitals_read_through_the_ordinary_images_task(tmp_path: Path) -> None:
    source = even_shapes(tmp_path / "pool", per_class=15)
    plan = SplitPlan(partition="iid", hospitals=3, seed=0)
    task = task_from_settings(
        {
            "name": "images",
            "classes": ["circle", "square", "triangle", "cross"],
            "image_size": 16,
            "channels": 1,
        }
    )

    hospitals = materialise_image_split(source, plan, cache_dir=tmp_path / "cache")
    profiles = [task.profile(task.load_site(h.name, h.path, seed=0)) for h in hospitals]

    assert sum(p.rows for p in profiles) == 60
    assert profiles[0].label_counts == {
        name: hospitals[0].label_counts.get(name, 0)
        for name in ["circle", "square", "triangle", "cross"]
    }


def test_a_small_dirichlet_alpha_gives_hospitals_different_classes(
    tmp_path: Path,
) -> None:
    source = even_shapes(tmp_path / "pool", per_class=40)
    pool = read_image_pool(source)

    skewed = split_pool(pool, SplitPlan("dirichlet", hospitals=3, alpha=0.2, seed=1))
    even = split_pool(pool, SplitPlan("dirichlet", hospitals=3, alpha=1000.0, seed=1))

    def largest_class_share(parts: list[tuple[str, np.ndarray]]) -> float:
        shares = [
            np.bincount(pool.labels[i], minlength=4).max() / len(i) for _, i in parts
        ]
        return float(np.mean(shares))

    assert largest_class_share(skewed) > 0.6
    assert largest_class_share(even) < 0.4
    assert sorted(np.concatenate([i for _, i in skewed]).tolist()) == list(range(160))


def test_the_same_split_is_written_once_and_reused(tmp_path: Path) -> None:
    source = even_shapes(tmp_path / "pool", per_class=10)
    plan = SplitPlan(partition="dirichlet", hospitals=2, alpha=0.5, seed=0)

    first = materialise_image_split(source, plan, cache_dir=tmp_path / "cache")
    marker = first[0].path / "touched"
    marker.write_text("")
    second = materialise_image_split(source, plan, cache_dir=tmp_path / "cache")

    assert [h.path for h in second] == [h.path for h in first]
    assert marker.exists()


def test_cifar10_python_batches_become_png_class_folders(tmp_path: Path) -> None:
    source = fake_cifar(tmp_path / "cifar-10-batches-py")
    plan = SplitPlan(partition="iid", hospitals=2, seed=0)

    hospitals = materialise_image_split(
        source, plan, cache_dir=tmp_path / "cache", max_images=40
    )

    assert sum(h.rows for h in hospitals) == 40
    classes = {p.parent.name for h in hospitals for p in h.path.rglob("*.png")}
    assert classes == {
        "airplane", "automobile", "bird", "cat", "deer",
        "dog", "frog", "horse", "ship", "truck",
    }  # fmt: skip


def test_a_source_with_one_class_is_refused_with_the_layout_it_needs(
    tmp_path: Path,
) -> None:
    source = shape_folder(tmp_path / "pool", {"circle": 5})

    with pytest.raises(FederationFileError) as caught:
        read_image_pool(source)

    assert "one sub-folder of images per class" in str(caught.value)


def test_init_task_images_writes_three_hospital_folders_that_check_clean(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "COLUMNS": "200", "FLWR_TELEMETRY_ENABLED": "0"}

    def fedcluster(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "fedcluster", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    written = fedcluster("init", "--task", "images")
    checked = fedcluster("check")

    assert written.returncode == 0, written.stderr
    assert "next: `fedcluster run -f federation.toml`" in written.stdout
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "all hospitals' data is usable" in checked.stdout
    federation = load_federation(tmp_path / "federation.toml")
    assert [h.name for h in federation.hospitals] == [
        "Hospital A",
        "Hospital B",
        "Hospital C",
    ]
    assert all(h.data.is_dir() for h in federation.hospitals)
    assert federation.task.params["classes"] == [
        "circle",
        "cross",
        "square",
        "triangle",
    ]


def test_init_refuses_to_overwrite_hospital_folders_without_force(
    tmp_path: Path,
) -> None:
    from fedcluster.errors import FedclusterError
    from fedcluster.federation.image_template import write_images_example

    (tmp_path / "data" / "hospital-b").mkdir(parents=True)

    with pytest.raises(FedclusterError) as caught:
        write_images_example(tmp_path / "federation.toml", name="x")

    assert "hospital-b already exists; pass --force" in str(caught.value)

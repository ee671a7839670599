"""The `images` task: protocol, federated statistics, additive AUC, the CNN."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from fedcluster.data.standardise import Standardiser, combine_statistics
from fedcluster.errors import TaskError
from fedcluster.tasks.base import Task, add_counts
from fedcluster.tasks.images import ImageSite, ImagesTask, class_auc
from fedcluster.tasks.registry import task_from_settings
from image_helpers import even_shapes, shape_folder

SHAPES = ["circle", "square", "triangle", "cross"]


def images_task(**params: object) -> ImagesTask:
    settings = {"classes": SHAPES, "image_size": 16, "channels": 1, **params}
    return ImagesTask.from_params(settings)


def exact_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Mann-Whitney AUC over every positive-negative pair (ties count half)."""
    pos, neg = scores[positive], scores[~positive]
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg).sum()
    return float(wins / (len(pos) * len(neg)))


def test_images_is_a_built_in_task_that_follows_the_protocol() -> None:
    task = task_from_settings({"name": "images", "classes": ["normal", "pneumonia"]})

    assert isinstance(task, Task)
    assert task.name == "images"


def test_a_federation_file_without_classes_is_refused_naming_the_key() -> None:
    with pytest.raises(TaskError) as caught:
        task_from_settings({"name": "images", "image_size": 32})

    assert "task.classes" in str(caught.value)


@pytest.mark.parametrize("classes", [["a", "a"], ["a", "b/c"], ["only-one"]])
def test_class_lists_that_cannot_map_to_folders_are_refused(classes: list[str]) -> None:
    with pytest.raises(TaskError):
        task_from_settings({"name": "images", "classes": classes})


def test_an_image_size_too_small_for_two_convolutions_is_refused() -> None:
    with pytest.raises(TaskError) as caught:
        task_from_settings({"name": "images", "classes": SHAPES, "image_size": 12})

    assert "task.image_size" in str(caught.value)


@pytest.mark.parametrize(("size", "channels"), [(16, 1), (28, 1), (32, 3), (64, 3)])
def test_the_cnn_gives_one_score_per_class_for_any_size_and_channels(
    size: int, channels: int
) -> None:
    import torch

    task = images_task(image_size=size, channels=channels)
    model = task.build_model(seed=0)

    logits = model(torch.zeros(5, channels, size, size))

    assert tuple(logits.shape) == (5, 4)
    assert sum(1 for m in model.modules() if isinstance(m, torch.nn.Conv2d)) == 2
    assert sum(1 for m in model.modules() if isinstance(m, torch.nn.Linear)) == 3


def test_every_hospital_holds_out_a_share_of_each_class_and_reports_counts(
    tmp_path: Path,
) -> None:
    root = shape_folder(tmp_path / "site", {"circle": 8, "cross": 4})
    task = images_task()

    site = task.load_site("North", root, seed=0)
    profile = task.profile(site)

    assert (profile.train_rows, profile.test_rows) == (9, 3)
    assert profile.label_counts == {"circle": 8, "square": 0, "triangle": 0, "cross": 4}
    assert sorted(site.test_y.tolist()) == [0, 0, 3]


def test_channel_statistics_summed_over_hospitals_give_the_pooled_mean_and_std(
    tmp_path: Path,
) -> None:
    task = images_task(channels=3)
    sites = [
        task.load_site(
            name, even_shapes(tmp_path / name, 4, channels=3, seed=i), seed=0
        )
        for i, name in enumerate(["North", "South"])
    ]

    combined = Standardiser.from_statistics(
        combine_statistics(task.statistics(site) for site in sites)
    )

    pooled = np.concatenate([site.train_x for site in sites]).astype(np.float64)
    assert np.allclose(combined.mean, pooled.mean(axis=(0, 2, 3)))
    assert np.allclose(combined.std, pooled.std(axis=(0, 2, 3)))


def test_pooled_metrics_from_summed_counts_equal_metrics_on_all_test_images(
    tmp_path: Path,
) -> None:
    task = images_task()
    sites = [
        task.load_site("North", shape_folder(tmp_path / "n", {"circle": 20}), seed=0),
        task.load_site("South", even_shapes(tmp_path / "s", 10, seed=3), seed=0),
    ]
    statistics = combine_statistics(task.statistics(site) for site in sites)
    model = task.build_model(seed=0)
    task.train(model, task.merge_sites(sites), statistics, epochs=2, seed=0)

    summed = task.metrics(
        add_counts([task.evaluate(model, s, statistics) for s in sites])
    )
    merged = task.metrics(task.evaluate(model, task.merge_sites(sites), statistics))

    assert summed == pytest.approx(merged)


def test_multi_class_auc_is_the_macro_mean_of_one_vs_rest_aucs(tmp_path: Path) -> None:
    import torch

    task = images_task()
    site = task.load_site("North", even_shapes(tmp_path / "site", 24), seed=0)
    statistics = task.statistics(site)
    model = task.build_model(seed=0)
    task.train(model, site, statistics, epochs=3, seed=0)

    reported = task.metrics(task.evaluate(model, site, statistics))["auc"]

    model.eval()
    with torch.no_grad():
        mean = statistics["sum"] / statistics["count"]
        std = np.sqrt(statistics["sum_squares"] / statistics["count"] - mean**2)
        inputs = (site.test_x - mean[:, None, None]) / std[:, None, None]
        scores = torch.softmax(model(torch.from_numpy(inputs.astype(np.float32))), 1)
    expected = np.mean(
        [exact_auc(scores[:, c].numpy(), site.test_y == c) for c in range(4)]
    )
    # Scores sharing one of the 100 histogram bins count as ties.
    assert reported == pytest.approx(expected, abs=0.02)


def test_two_class_auc_is_the_auc_of_the_second_class_as_in_the_heart_task() -> None:
    positives = np.zeros((2, 100))
    negatives = np.zeros((2, 100))
    # Class 1: positives score 0.8-0.9, negatives 0.1-0.2, one overlap at 0.5.
    positives[1, [80, 90, 50]] = 1
    negatives[1, [10, 20, 50]] = 1
    positives[0, [10, 20, 50]] = 1
    negatives[0, [80, 90, 50]] = 1

    assert class_auc(positives, negatives) == pytest.approx((8 + 0.5) / 9)


def test_a_class_no_test_image_belongs_to_is_left_out_of_the_macro_auc() -> None:
    positives = np.zeros((3, 100))
    negatives = np.zeros((3, 100))
    positives[0, 90], negatives[0, 10] = 1, 1  # class 0: perfectly separated
    positives[1, 10], negatives[1, 90] = 1, 1  # class 1: perfectly wrong
    negatives[2, 40] = 2  # class 2: no test image of it

    assert class_auc(positives, negatives) == pytest.approx(0.5)


def test_the_cnn_learns_shapes_and_says_which_device_it_used(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    task = images_task()
    site: ImageSite = task.load_site(
        "Learner", even_shapes(tmp_path / "site", 60), seed=0
    )
    statistics = task.statistics(site)
    model = task.build_model(seed=0)

    with caplog.at_level(logging.INFO, logger="fedcluster"):
        before = task.metrics(task.evaluate(model, site, statistics))
        outcome = task.train(model, site, statistics, epochs=12, seed=0)
        after = task.metrics(task.evaluate(model, site, statistics))

    assert outcome.examples == len(site.train_y)
    assert after["auc"] > 0.85 > before["auc"]
    assert after["loss"] < before["loss"]
    assert after["on_gpu"] == 0.0
    assert any("Learner runs on cpu" in r.getMessage() for r in caplog.records)

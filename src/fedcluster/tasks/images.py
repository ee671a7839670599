"""The built-in `images` task: image classification with a small CNN.

Each hospital's images (an image folder or a labels CSV with DICOM, PNG or
JPEG files, see `fedcluster.data.images`) are resized to one size and
standardised per channel with federation-wide statistics. The class list is
fixed in the federation file, so every hospital maps class names to the same
indices; a hospital may lack some classes entirely.

Evaluation returns additive counts. AUC comes from per-class score
histograms (`fedcluster.tasks.scores`): for two classes it is the AUC of the
second class's probability, as in the `heart` task; for more classes it is
the macro average of one-vs-rest AUCs (each class's probability, that class
against all others), over the classes that have both positive and negative
test images. Summing the histograms across hospitals gives the pooled AUC
without any image leaving its hospital.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, field_validator

from fedcluster.data.images import ImageSpec, channel_statistics, read_site_images
from fedcluster.data.standardise import Standardiser
from fedcluster.errors import SiteDataError
from fedcluster.tasks.base import Counts, SiteProfile, TrainOutcome
from fedcluster.tasks.scores import auc_from_histograms, score_histograms
from fedcluster.tasks.training import train_minibatches

FloatArray = NDArray[np.float64]

# Evaluation runs in chunks so a large test set never needs one huge tensor.
_EVALUATION_BATCH = 256


class ImagesParams(BaseModel):
    """The `[task]` keys the images task understands."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    classes: Annotated[list[str], Field(min_length=2)]
    model: Literal["cnn"] = "cnn"
    image_size: Annotated[int, Field(ge=16, le=512)] = 32
    channels: Literal[1, 3] = 3
    resize: bool = True
    labels_file: str = "labels.csv"
    test_fraction: Annotated[float, Field(gt=0.0, lt=0.9)] = 0.25
    learning_rate: Annotated[float, Field(gt=0.0)] = 0.05
    momentum: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.9
    batch_size: Annotated[int, Field(ge=1)] = 32
    weight_decay: Annotated[float, Field(ge=0.0)] = 1e-4
    device: Literal["auto", "cpu", "cuda"] = "auto"
    # Torch CPU threads while training and evaluating (see image_net.cpu_threads).
    cpu_threads: Annotated[int, Field(ge=1, le=256)] = 1

    @field_validator("classes")
    @classmethod
    def _classes_are_distinct_folder_names(cls, classes: list[str]) -> list[str]:
        for name in classes:
            if not name.strip() or "/" in name or "\\" in name or name.startswith("."):
                raise ValueError(
                    f"class name {name!r} cannot be a folder name; "
                    "use letters, digits, spaces, '-' or '_'"
                )
        if len(set(classes)) != len(classes):
            raise ValueError("class names must be distinct")
        return classes


@dataclass(frozen=True)
class ImageSite:
    """One hospital's images, split into train and test."""

    hospital: str
    path: Path
    train_x: NDArray[np.float32]
    train_y: NDArray[np.int64]
    test_x: NDArray[np.float32]
    test_y: NDArray[np.int64]


class ImagesTask:
    """Image classification with a small CNN (see module docstring)."""

    name = "images"

    def __init__(self, params: ImagesParams) -> None:
        self.params = params
        self.spec = ImageSpec(
            classes=tuple(params.classes),
            image_size=params.image_size,
            channels=params.channels,
            resize=params.resize,
            labels_file=params.labels_file,
        )

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> ImagesTask:
        return cls(ImagesParams.model_validate(dict(params)))

    # --- site data -----------------------------------------------------------

    def load_site(self, hospital: str, path: Path, *, seed: int) -> ImageSite:
        site_images = read_site_images(hospital, path, self.spec)
        labels = site_images.labels
        test = _stratified_test_mask(labels, self.params.test_fraction, seed, hospital)
        if test.all() or not test.any():
            raise SiteDataError(
                hospital, f"{path}: {len(labels)} image(s) are too few to split"
            )
        return ImageSite(
            hospital=hospital,
            path=path,
            train_x=site_images.images[~test],
            train_y=labels[~test],
            test_x=site_images.images[test],
            test_y=labels[test],
        )

    def profile(self, site: ImageSite) -> SiteProfile:
        labels = np.concatenate([site.train_y, site.test_y])
        counts = np.bincount(labels, minlength=len(self.spec.classes))
        return SiteProfile(
            hospital=site.hospital,
            path=site.path,
            rows=len(labels),
            train_rows=len(site.train_y),
            test_rows=len(site.test_y),
            label_counts={
                name: int(count)
                for name, count in zip(self.spec.classes, counts, strict=True)
            },
        )

    def statistics(self, site: ImageSite) -> Counts:
        return channel_statistics(site.train_x)

    def merge_sites(self, sites: Sequence[ImageSite]) -> ImageSite:
        return ImageSite(
            hospital="pooled",
            path=Path("."),
            train_x=np.concatenate([s.train_x for s in sites]),
            train_y=np.concatenate([s.train_y for s in sites]),
            test_x=np.concatenate([s.test_x for s in sites]),
            test_y=np.concatenate([s.test_y for s in sites]),
        )

    # --- model ---------------------------------------------------------------

    def build_model(self, seed: int) -> Any:
        import torch

        from fedcluster.tasks.image_net import SmallConvNet

        torch.manual_seed(seed)
        return SmallConvNet(
            channels=self.params.channels,
            image_size=self.params.image_size,
            classes=len(self.params.classes),
        )

    def train(
        self,
        model: Any,
        site: ImageSite,
        statistics: Mapping[str, FloatArray],
        *,
        epochs: int,
        seed: int,
        proximal_mu: float = 0.0,
    ) -> TrainOutcome:
        import torch

        from fedcluster.tasks.image_net import cpu_threads, pick_device

        device = pick_device(self.params.device, site.hospital)
        with cpu_threads(self.params.cpu_threads):
            model.to(device)
            mean_loss = _sgd_epochs(
                model,
                _standardised(site.train_x, statistics).to(device),
                torch.from_numpy(site.train_y).to(device),
                params=self.params,
                epochs=epochs,
                seed=seed,
                proximal_mu=proximal_mu,
            )
            # Hand the model back where it came from: the apps read it on the CPU.
            model.to("cpu")
        return TrainOutcome(examples=len(site.train_y), loss=mean_loss)

    def evaluate(
        self,
        model: Any,
        site: ImageSite,
        statistics: Mapping[str, FloatArray],
    ) -> Counts:
        import torch

        from fedcluster.tasks.image_net import cpu_threads, pick_device

        device = pick_device(self.params.device, site.hospital)
        inputs = _standardised(site.test_x, statistics)
        with cpu_threads(self.params.cpu_threads), torch.no_grad():
            model.to(device)
            model.eval()
            logits = torch.cat(
                [
                    model(inputs[start : start + _EVALUATION_BATCH].to(device)).cpu()
                    for start in range(0, len(inputs), _EVALUATION_BATCH)
                ]
            ).double()
            model.to("cpu")

        targets = site.test_y
        loss = torch.nn.functional.cross_entropy(
            logits, torch.from_numpy(targets), reduction="sum"
        )
        probabilities = torch.softmax(logits, dim=1).numpy()
        positives, negatives = _class_histograms(probabilities, targets)
        correct = (probabilities.argmax(axis=1) == targets).sum()
        return {
            "examples": np.array([len(targets)], dtype=np.float64),
            "correct": np.array([correct], dtype=np.float64),
            "loss_sum": np.array([float(loss)], dtype=np.float64),
            "class_positives": positives,
            "class_negatives": negatives,
            # How many of the evaluating hospitals ran on a GPU.
            "on_gpu": np.array([float(device.type == "cuda")], dtype=np.float64),
        }

    def metrics(self, counts: Mapping[str, FloatArray]) -> dict[str, float]:
        examples = float(counts["examples"][0])
        if examples == 0:
            return {"auc": float("nan"), "accuracy": float("nan"), "loss": float("nan")}
        return {
            "auc": class_auc(counts["class_positives"], counts["class_negatives"]),
            "accuracy": float(counts["correct"][0]) / examples,
            "loss": float(counts["loss_sum"][0]) / examples,
            "examples": examples,
            "on_gpu": float(counts["on_gpu"][0]),
        }


def _sgd_epochs(
    model: Any,
    inputs: Any,
    targets: Any,
    *,
    params: ImagesParams,
    epochs: int,
    seed: int,
    proximal_mu: float,
) -> float:
    """Train `model` in place with SGD; return the mean training loss."""
    import torch

    optimiser = torch.optim.SGD(
        model.parameters(),
        lr=params.learning_rate,
        momentum=params.momentum,
        weight_decay=params.weight_decay,
    )
    return train_minibatches(
        model,
        inputs,
        targets,
        optimiser=optimiser,
        loss_fn=torch.nn.CrossEntropyLoss(),
        epochs=epochs,
        batch_size=params.batch_size,
        seed=seed,
        proximal_mu=proximal_mu,
    )


def class_auc(positives: FloatArray, negatives: FloatArray) -> float:
    """AUC from per-class histograms (rows = classes; see module docstring)."""
    if len(positives) == 2:
        return auc_from_histograms(positives[1], negatives[1])
    per_class = [
        auc_from_histograms(positives[c], negatives[c]) for c in range(len(positives))
    ]
    defined = [auc for auc in per_class if auc == auc]
    return float(np.mean(defined)) if defined else float("nan")


def _class_histograms(
    probabilities: NDArray[np.float64], targets: NDArray[np.int64]
) -> tuple[FloatArray, FloatArray]:
    """Rows c: histograms of P(class c) for images of class c and of the rest."""
    rows = [
        score_histograms(probabilities[:, c], (targets == c).astype(np.float64))
        for c in range(probabilities.shape[1])
    ]
    return (
        np.stack([positive for positive, _ in rows]),
        np.stack([negative for _, negative in rows]),
    )


def _standardised(
    images: NDArray[np.float32], statistics: Mapping[str, FloatArray]
) -> Any:
    import torch

    standardiser = Standardiser.from_statistics(statistics)
    mean = standardiser.mean.astype(np.float32)[:, np.newaxis, np.newaxis]
    std = standardiser.std.astype(np.float32)[:, np.newaxis, np.newaxis]
    return torch.from_numpy(np.ascontiguousarray((images - mean) / std))


def _stratified_test_mask(
    labels: NDArray[np.int64], fraction: float, seed: int, hospital: str
) -> NDArray[np.bool_]:
    """Hold out `fraction` of each class, fixed by seed and hospital."""
    rng = np.random.default_rng([seed, zlib.crc32(hospital.encode())])
    test = np.zeros(len(labels), dtype=bool)
    for value in np.unique(labels):
        rows = np.flatnonzero(labels == value)
        take = round(len(rows) * fraction)
        if len(rows) >= 2:
            take = min(max(take, 1), len(rows) - 1)
        test[rng.choice(rows, size=take, replace=False)] = True
    return test

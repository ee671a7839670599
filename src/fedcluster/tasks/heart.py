"""The built-in `heart` task: binary classification of clinical tables.

Logistic regression or a small MLP on numeric features, standardised with
federation-wide statistics, missing values imputed and flagged. The demo uses
the UCI heart disease study; any table with numeric features and a 0/1 label
works by listing its columns in the federation file's `[task]` table.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from fedcluster.data.demo import DEMO_FEATURES, DEMO_LABEL
from fedcluster.data.standardise import Standardiser, site_statistics
from fedcluster.data.table import TableSchema, check_table, read_table
from fedcluster.errors import SiteDataError
from fedcluster.tasks.base import Counts, SiteProfile, TrainOutcome
from fedcluster.tasks.scores import auc_from_histograms, score_histograms
from fedcluster.tasks.training import train_minibatches

FloatArray = NDArray[np.float64]


class HeartParams(BaseModel):
    """The `[task]` keys the heart task understands."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: Literal["logistic", "mlp"] = "logistic"
    label: str = DEMO_LABEL
    features: Annotated[list[str], Field(min_length=1)] = list(DEMO_FEATURES)
    ignore_columns: list[str] = []
    missing_codes: dict[str, float | list[float]] = {}
    test_fraction: Annotated[float, Field(gt=0.0, lt=0.9)] = 0.25
    learning_rate: Annotated[float, Field(gt=0.0)] = 0.1
    batch_size: Annotated[int, Field(ge=1)] = 32
    hidden_units: Annotated[int, Field(ge=1)] = 16
    weight_decay: Annotated[float, Field(ge=0.0)] = 1e-4


@dataclass(frozen=True)
class TableSite:
    """One hospital's rows, split; features keep NaN where unmeasured."""

    hospital: str
    path: Path
    train_x: FloatArray
    train_y: FloatArray
    test_x: FloatArray
    test_y: FloatArray
    missing: dict[str, int]


class HeartTask:
    """Binary classification of clinical tables (see module docstring)."""

    name = "heart"

    def __init__(self, params: HeartParams | None = None) -> None:
        self.params = params or HeartParams()
        codes = {
            column: tuple(value if isinstance(value, list) else [value])
            for column, value in self.params.missing_codes.items()
        }
        self.schema = TableSchema(
            features=tuple(self.params.features),
            label=self.params.label,
            ignored=tuple(self.params.ignore_columns),
            missing_codes=codes,
        )

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> HeartTask:
        return cls(HeartParams.model_validate(dict(params)))

    @property
    def input_size(self) -> int:
        # Each feature plus its missing-value indicator.
        return 2 * len(self.params.features)

    # --- site data -----------------------------------------------------------

    def load_site(self, hospital: str, path: Path, *, seed: int) -> TableSite:
        frame = check_table(hospital, path, read_table(hospital, path), self.schema)
        features = frame[list(self.schema.features)].to_numpy(dtype=np.float64)
        labels = frame[self.schema.label].to_numpy(dtype=np.float64)
        test = _stratified_test_mask(labels, self.params.test_fraction, seed, hospital)
        if test.all() or not test.any():
            raise SiteDataError(
                hospital, f"{path}: {len(labels)} row(s) are too few to split"
            )
        missing = {
            column: int(frame[column].isna().sum()) for column in self.schema.features
        }
        return TableSite(
            hospital=hospital,
            path=path,
            train_x=features[~test],
            train_y=labels[~test],
            test_x=features[test],
            test_y=labels[test],
            missing=missing,
        )

    def profile(self, site: TableSite) -> SiteProfile:
        labels = np.concatenate([site.train_y, site.test_y])
        return SiteProfile(
            hospital=site.hospital,
            path=site.path,
            rows=len(labels),
            train_rows=len(site.train_y),
            test_rows=len(site.test_y),
            label_counts={
                "0": int((labels == 0).sum()),
                "1": int((labels == 1).sum()),
            },
            missing=site.missing,
        )

    def statistics(self, site: TableSite) -> Counts:
        return site_statistics(site.train_x)

    def merge_sites(self, sites: Sequence[TableSite]) -> TableSite:
        return TableSite(
            hospital="pooled",
            path=Path("."),
            train_x=np.concatenate([s.train_x for s in sites]),
            train_y=np.concatenate([s.train_y for s in sites]),
            test_x=np.concatenate([s.test_x for s in sites]),
            test_y=np.concatenate([s.test_y for s in sites]),
            missing={},
        )

    # --- model ---------------------------------------------------------------

    def build_model(self, seed: int) -> Any:
        import torch
        from torch import nn

        torch.manual_seed(seed)
        if self.params.model == "logistic":
            return nn.Sequential(nn.Linear(self.input_size, 1))
        hidden = self.params.hidden_units
        return nn.Sequential(
            nn.Linear(self.input_size, hidden), nn.ReLU(), nn.Linear(hidden, 1)
        )

    def train(
        self,
        model: Any,
        site: TableSite,
        statistics: Mapping[str, FloatArray],
        *,
        epochs: int,
        seed: int,
        proximal_mu: float = 0.0,
    ) -> TrainOutcome:
        import torch

        inputs = _tensor(
            Standardiser.from_statistics(statistics).transform(site.train_x)
        )
        targets = _tensor(site.train_y).reshape(-1, 1)
        optimiser = torch.optim.SGD(
            model.parameters(),
            lr=self.params.learning_rate,
            weight_decay=self.params.weight_decay,
        )
        mean_loss = train_minibatches(
            model,
            inputs,
            targets,
            optimiser=optimiser,
            loss_fn=torch.nn.BCEWithLogitsLoss(),
            epochs=epochs,
            batch_size=self.params.batch_size,
            seed=seed,
            proximal_mu=proximal_mu,
        )
        return TrainOutcome(examples=len(inputs), loss=mean_loss)

    def evaluate(
        self,
        model: Any,
        site: TableSite,
        statistics: Mapping[str, FloatArray],
    ) -> Counts:
        import torch

        inputs = _tensor(
            Standardiser.from_statistics(statistics).transform(site.test_x)
        )
        targets = site.test_y
        model.eval()
        with torch.no_grad():
            logits = model(inputs).reshape(-1).double()
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                logits, torch.from_numpy(targets), reduction="sum"
            )
        scores = torch.sigmoid(logits).numpy()
        positives, negatives = score_histograms(scores, targets)
        predicted = scores >= 0.5
        return {
            "examples": np.array([len(targets)], dtype=np.float64),
            "correct": np.array([(predicted == (targets == 1)).sum()], np.float64),
            "loss_sum": np.array([float(loss)], dtype=np.float64),
            "positives": positives,
            "negatives": negatives,
        }

    def metrics(self, counts: Mapping[str, FloatArray]) -> dict[str, float]:
        examples = float(counts["examples"][0])
        if examples == 0:
            return {"auc": float("nan"), "accuracy": float("nan"), "loss": float("nan")}
        return {
            "auc": auc_from_histograms(counts["positives"], counts["negatives"]),
            "accuracy": float(counts["correct"][0]) / examples,
            "loss": float(counts["loss_sum"][0]) / examples,
            "examples": examples,
        }


def _stratified_test_mask(
    labels: FloatArray, fraction: float, seed: int, hospital: str
) -> NDArray[np.bool_]:
    """Pick a test set of `fraction` of each class, fixed by seed and hospital."""
    rng = np.random.default_rng([seed, zlib.crc32(hospital.encode())])
    test = np.zeros(len(labels), dtype=bool)
    for value in (0.0, 1.0):
        rows = np.flatnonzero(labels == value)
        take = round(len(rows) * fraction)
        if len(rows) >= 2:
            take = min(max(take, 1), len(rows) - 1)
        test[rng.choice(rows, size=take, replace=False)] = True
    return test


def _tensor(array: FloatArray) -> Any:
    import torch

    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))

"""The `Task` protocol every task follows, and the records it returns.

The Flower apps and the baselines only ever talk to a task through this
protocol, which keeps them free of any knowledge of tables, images or models.
Evaluation returns additive counts rather than metrics, so results from many
hospitals can be added up into pooled metrics without any patient row moving.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np
from numpy.typing import NDArray

Counts = dict[str, NDArray[np.float64]]
SiteT = TypeVar("SiteT")


@dataclass(frozen=True)
class SiteProfile:
    """Aggregate facts about one hospital's data; safe to show anyone."""

    hospital: str
    path: Path
    rows: int
    train_rows: int
    test_rows: int
    label_counts: dict[str, int]
    missing: dict[str, int] = field(default_factory=dict)

    @property
    def positive_rate(self) -> float:
        total = sum(self.label_counts.values())
        return self.label_counts.get("1", 0) / total if total else 0.0


@dataclass(frozen=True)
class TrainOutcome:
    examples: int
    loss: float


@runtime_checkable
class Task(Protocol[SiteT]):
    """What fedcluster needs from a task. `SiteT` is the task's own site type."""

    name: str

    def load_site(self, hospital: str, path: Path, *, seed: int) -> SiteT:
        """Read and check one hospital's data and split it into train and test.

        Raises `SiteDataError` naming the hospital, file and problem. The split
        must depend only on the data and `seed`.
        """
        ...

    def profile(self, site: SiteT) -> SiteProfile: ...

    def statistics(self, site: SiteT) -> Counts:
        """Additive preprocessing statistics of the site's training rows."""
        ...

    def build_model(self, seed: int) -> Any:
        """A fresh model (a `torch.nn.Module`) initialised from `seed`."""
        ...

    def train(
        self,
        model: Any,
        site: SiteT,
        statistics: Mapping[str, NDArray[np.float64]],
        *,
        epochs: int,
        seed: int,
        proximal_mu: float = 0.0,
    ) -> TrainOutcome:
        """Train `model` in place on the site's training rows."""
        ...

    def evaluate(
        self,
        model: Any,
        site: SiteT,
        statistics: Mapping[str, NDArray[np.float64]],
    ) -> Counts:
        """Additive evaluation counts of `model` on the site's test rows."""
        ...

    def metrics(self, counts: Mapping[str, NDArray[np.float64]]) -> dict[str, float]:
        """Metrics from (summed) evaluation counts: at least auc, accuracy, loss."""
        ...

    def merge_sites(self, sites: Sequence[SiteT]) -> SiteT:
        """One site holding every given site's rows (centralized baseline only)."""
        ...


def add_counts(parts: Sequence[Mapping[str, NDArray[np.float64]]]) -> Counts:
    """Sum evaluation counts from several sites key by key."""
    total: Counts = {}
    for part in parts:
        for key, value in part.items():
            array = np.asarray(value, dtype=np.float64)
            total[key] = total[key] + array if key in total else array.copy()
    return total

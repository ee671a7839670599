"""Federated standardisation: per-feature statistics that add up across sites.

Each hospital computes, over its own training rows, how many values each
feature has, their sum and their sum of squares, and how many are missing.
Those four vectors are all that leaves the site. The server adds them up and
obtains exactly the mean and standard deviation it would have computed on the
pooled rows, without ever seeing a row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

STAT_KEYS = ("count", "sum", "sum_squares", "missing")

FloatArray = NDArray[np.float64]


def site_statistics(features: FloatArray) -> dict[str, FloatArray]:
    """Aggregate statistics of one site's feature matrix (NaN = missing)."""
    present = ~np.isnan(features)
    values = np.where(present, features, 0.0)
    return {
        "count": present.sum(axis=0).astype(np.float64),
        "sum": values.sum(axis=0),
        "sum_squares": (values**2).sum(axis=0),
        "missing": (~present).sum(axis=0).astype(np.float64),
    }


def combine_statistics(
    sites: Iterable[Mapping[str, FloatArray]],
) -> dict[str, FloatArray]:
    """Add up the statistics of several sites, key by key."""
    total: dict[str, FloatArray] = {}
    for stats in sites:
        for key in STAT_KEYS:
            value = np.asarray(stats[key], dtype=np.float64)
            if key in total and total[key].shape != value.shape:
                raise ValueError(
                    f"statistic {key!r} has shape {value.shape}, "
                    f"expected {total[key].shape}"
                )
            total[key] = total[key] + value if key in total else value.copy()
    if not total:
        raise ValueError("no site statistics to combine")
    return total


@dataclass(frozen=True)
class Standardiser:
    """Mean and standard deviation per feature, from combined statistics."""

    mean: FloatArray
    std: FloatArray

    @classmethod
    def from_statistics(cls, stats: Mapping[str, FloatArray]) -> Standardiser:
        count = np.asarray(stats["count"], dtype=np.float64)
        safe = np.maximum(count, 1.0)
        mean = np.where(count > 0, stats["sum"] / safe, 0.0)
        variance = np.where(count > 0, stats["sum_squares"] / safe - mean**2, 1.0)
        std = np.sqrt(np.maximum(variance, 0.0))
        # A feature that never varies (or is never measured) is left unscaled.
        std = np.where(std > 1e-12, std, 1.0)
        return cls(mean=mean, std=std)

    def transform(self, features: FloatArray) -> FloatArray:
        """Standardise, impute missing values at the mean, append indicators.

        The result has twice as many columns: the standardised features (a
        missing value becomes 0, the federation-wide mean) followed by one 0/1
        column per feature that says whether the value was missing.
        """
        missing = np.isnan(features)
        scaled = (features - self.mean) / self.std
        scaled = np.where(missing, 0.0, scaled)
        return np.concatenate([scaled, missing.astype(np.float64)], axis=1)

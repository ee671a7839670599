"""Tasks that misbehave on purpose, loaded by import path like a user's task."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from fedcluster.tasks.base import TrainOutcome
from fedcluster.tasks.heart import HeartTask, TableSite


class NaNFromSwitzerland(HeartTask):
    """The heart task, except that Switzerland's training diverges to NaN."""

    def train(
        self,
        model: Any,
        site: TableSite,
        statistics: Mapping[str, np.ndarray],
        *,
        epochs: int,
        seed: int,
        proximal_mu: float = 0.0,
    ) -> TrainOutcome:
        outcome = super().train(
            model, site, statistics, epochs=epochs, seed=seed, proximal_mu=proximal_mu
        )
        if site.hospital == "Switzerland":
            for parameter in model.parameters():
                parameter.data.fill_(float("nan"))
        return outcome

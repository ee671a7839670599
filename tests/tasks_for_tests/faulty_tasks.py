"""Tasks that misbehave on purpose, loaded by import path like a user's task.

Each is the heart task, except at Switzerland, where it breaks its update
after training (`spoil`) or stalls before it (`before_training`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fedcluster.tasks.base import TrainOutcome
from fedcluster.tasks.heart import HeartTask, TableSite

# A folder where `SlowSwitzerlandOnce` notes each training it starts (the
# fault tests set it for every process they start).
MARKERS_VARIABLE = "FEDCLUSTER_TEST_MARKERS"


class _SwitzerlandMisbehaves(HeartTask):
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
        switzerland = site.hospital == "Switzerland"
        if switzerland:
            self.before_training(seed)
        outcome = super().train(
            model, site, statistics, epochs=epochs, seed=seed, proximal_mu=proximal_mu
        )
        if switzerland:
            self.spoil(model)
        return outcome

    def before_training(self, seed: int) -> None:
        pass

    def spoil(self, model: Any) -> None:
        pass


class NaNFromSwitzerland(_SwitzerlandMisbehaves):
    """Switzerland's training diverges to NaN."""

    def spoil(self, model: Any) -> None:
        for parameter in model.parameters():
            parameter.data.fill_(float("nan"))


class InfFromSwitzerland(_SwitzerlandMisbehaves):
    """Switzerland's training overflows one weight to infinity."""

    def spoil(self, model: Any) -> None:
        first = next(iter(model.parameters()))
        first.data.view(-1)[0] = float("inf")


class WrongShapeFromSwitzerland(_SwitzerlandMisbehaves):
    """Switzerland sends a model with one weight matrix a column too wide."""

    def spoil(self, model: Any) -> None:
        first = next(iter(model.parameters()))
        rows, columns = first.data.shape
        first.data = torch.zeros((rows, columns + 1))


class SlowSwitzerlandOnce(_SwitzerlandMisbehaves):
    """Switzerland notes every training it starts in a file, and its second
    training (round 2) takes 6 s longer, so that a test can break
    Switzerland in the middle of a round."""

    def before_training(self, seed: int) -> None:
        folder = os.environ.get(MARKERS_VARIABLE)
        if not folder:
            return
        log = Path(folder) / "switzerland-trainings"
        with log.open("a") as trainings:
            trainings.write(f"{seed}\n")
        if len(log.read_text().splitlines()) == 2:
            time.sleep(6.0)

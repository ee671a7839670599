"""Tasks that misbehave on purpose, loaded by import path like a user's task."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
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


# A folder where `SlowSwitzerlandOnce` notes each training it starts (the
# fault tests set it for every process they start).
MARKERS_VARIABLE = "FEDCLUSTER_TEST_MARKERS"


class SlowSwitzerlandOnce(HeartTask):
    """The heart task; Switzerland notes every training it starts in a file,
    and its second training (round 2) takes 6 s longer, so that a test can
    break Switzerland in the middle of a round."""

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
        if site.hospital == "Switzerland" and os.environ.get(MARKERS_VARIABLE):
            log = Path(os.environ[MARKERS_VARIABLE]) / "switzerland-trainings"
            with log.open("a") as trainings:
                trainings.write(f"{seed}\n")
            if len(log.read_text().splitlines()) == 2:
                time.sleep(6.0)
        return super().train(
            model, site, statistics, epochs=epochs, seed=seed, proximal_mu=proximal_mu
        )

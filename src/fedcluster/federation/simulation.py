"""The `[simulation]` table of `federation.toml`: hospitals split from one table.

Before a consortium exists there is often one table and a question: how would
federation fare across 10, 50 or 100 hospitals whose patients differ? This
table splits that one CSV or Parquet file into simulated hospitals, in place
of `[[hospital]]` tables:

- `natural`: one hospital per value of a column (`by`), like the demo's
  `dataset` column naming the hospital each patient came from;
- `iid`: rows shuffled with the seed, then dealt into `hospitals` equal parts;
- `dirichlet`: label skew; each class is shared out among `hospitals` in
  proportions drawn from a Dirichlet distribution with concentration `alpha`
  (small alpha, say 0.1, gives hospitals that see almost only one class;
  large alpha, say 100, gives hospitals that look alike).

The split is written once to the state folder (see `fedcluster.data.partition`)
and each simulated hospital then reads only its own file, as a real one would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Partition = Literal["natural", "iid", "dirichlet"]


class SimulationSettings(BaseModel):
    """How one table is split into simulated hospitals."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data: Path
    partition: Partition
    # How many hospitals for iid and dirichlet; natural makes one per value.
    hospitals: Annotated[int, Field(ge=1, le=10_000)] | None = None
    # natural only: the column naming each row's hospital (dropped from files).
    by: Annotated[str, Field(min_length=1)] | None = None
    # dirichlet only: concentration of the label shares.
    alpha: Annotated[float, Field(gt=0.0)] | None = None
    # dirichlet only: the label column; defaults to the task's `label`.
    label: Annotated[str, Field(min_length=1)] | None = None
    # iid and dirichlet: the fewest rows any hospital may get. Too few rows
    # cannot be split into a training and a test set.
    min_rows: Annotated[int, Field(ge=2)] = 10
    # Fixes the split; defaults to the federation's `seed`.
    seed: int | None = None

    @model_validator(mode="after")
    def _keys_fit_the_partition(self) -> SimulationSettings:
        if self.partition == "natural":
            if self.by is None:
                raise ValueError(
                    "simulation.by is missing: partition = 'natural' needs the "
                    "column that names each row's hospital, e.g. by = 'dataset'"
                )
            if self.hospitals is not None:
                raise ValueError(
                    "simulation.hospitals does not apply to partition = 'natural' "
                    "(one hospital per value of `by`); remove it"
                )
        else:
            if self.hospitals is None:
                raise ValueError(
                    f"simulation.hospitals is missing: partition = "
                    f"'{self.partition}' needs how many hospitals to make"
                )
            if self.by is not None:
                raise ValueError(
                    "simulation.by only applies to partition = 'natural'; remove it"
                )
        if self.partition == "dirichlet" and self.alpha is None:
            raise ValueError(
                "simulation.alpha is missing: partition = 'dirichlet' needs a "
                "concentration, e.g. alpha = 0.5"
            )
        if self.partition != "dirichlet":
            for key in ("alpha", "label"):
                if getattr(self, key) is not None:
                    raise ValueError(
                        f"simulation.{key} only applies to partition = "
                        "'dirichlet'; remove it"
                    )
        return self

"""Filling in a federation's hospitals from its `[simulation]` table.

A federation file with a `[simulation]` table lists no `[[hospital]]` tables;
loading it splits the table (see `fedcluster.data.partition`) into one file
per simulated hospital under `<state_dir>/partitions/` and lists those
hospitals as if the file had named them. Every later step (site checks,
baselines, the Flower apps, the run store and the report) sees ordinary
hospitals, each with its own file.
"""

from __future__ import annotations

import logging

from pydantic import ValidationError

from fedcluster.data.partition import SplitPlan, materialise_split
from fedcluster.errors import FederationFileError
from fedcluster.federation.model import Federation, Hospital

log = logging.getLogger(__name__)


def split_plan(federation: Federation) -> SplitPlan:
    """The split the federation's `[simulation]` table asks for."""
    settings = federation.simulation
    if settings is None:
        raise ValueError("the federation has no [simulation] table")
    task_label = federation.task.params.get("label")
    label = settings.label or (str(task_label) if task_label else None)
    if settings.partition == "dirichlet" and label is None:
        raise FederationFileError(
            "simulation.label is missing: partition = 'dirichlet' skews the "
            "label, so name its column here or as the task's `label`"
        )
    return SplitPlan(
        partition=settings.partition,
        hospitals=settings.hospitals,
        by=settings.by,
        alpha=settings.alpha,
        label=label,
        min_rows=settings.min_rows,
        seed=federation.seed if settings.seed is None else settings.seed,
    )


def with_simulated_hospitals(federation: Federation) -> Federation:
    """The federation with its split hospitals listed; unchanged without one."""
    if federation.simulation is None or federation.hospitals:
        return federation
    plan = split_plan(federation)
    split = materialise_split(
        federation.simulation.data,
        plan,
        cache_dir=federation.state_dir / "partitions",
    )
    hospitals = []
    for part in split:
        try:
            hospitals.append(Hospital(name=part.name, data=part.path))
        except ValidationError as error:
            raise FederationFileError(
                f"simulation.by: the value {part.name!r} cannot name a hospital; "
                "use values made of letters, digits, spaces, '.', '_' or '-'"
            ) from error
    if len(hospitals) < federation.min_hospitals:
        raise FederationFileError(
            f"min_hospitals is {federation.min_hospitals} but the split made only "
            f"{len(hospitals)} hospitals; lower min_hospitals"
        )
    log.debug("%d simulated hospitals from %s", len(hospitals), plan)
    expanded = federation.model_copy(update={"hospitals": hospitals})
    expanded._source = federation.source
    return expanded

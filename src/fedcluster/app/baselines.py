"""Baselines that show what federation bought each hospital.

- local: each hospital trains alone (its own statistics, its own rows) for as
  many epochs as the federated model saw, and is scored on its own test set
  and on every hospital's test set pooled;
- centralized: one model trained on every hospital's training rows pooled,
  a reference that only a simulation can compute.

All models start from the same seed and see the same splits as the federated
run, so the comparison is like for like.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fedcluster.data.standardise import combine_statistics
from fedcluster.tasks.base import Task

log = logging.getLogger(__name__)


def simulated_baselines(
    task: Task[Any],
    sites: Sequence[Any],
    *,
    epochs: int,
    seed: int,
) -> dict[str, Any]:
    """Local-only and centralized results for sites loaded in this process.

    Runs on one torch thread. The models are trained one after another, on
    small batches, where a second intra-op thread costs more in hand-offs than
    it gains, and far more when the machine is busy: 100 hospitals for 20
    epochs took 105 s with two threads on a loaded 2-core machine and 9 s
    with one.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _baselines(task, sites, epochs=epochs, seed=seed)
    finally:
        torch.set_num_threads(threads)


def _baselines(
    task: Task[Any], sites: Sequence[Any], *, epochs: int, seed: int
) -> dict[str, Any]:
    local: dict[str, dict[str, float]] = {}
    local_on_pooled: dict[str, dict[str, float]] = {}
    # Evaluation counts add up, so scoring on every test row merged once gives
    # the pooled result in one pass per model, not one pass per hospital.
    pooled_site = task.merge_sites(sites)
    for site in sites:
        name = task.profile(site).hospital
        own_stats = task.statistics(site)
        model = task.build_model(seed)
        task.train(model, site, own_stats, epochs=epochs, seed=seed)
        local[name] = task.metrics(task.evaluate(model, site, own_stats))
        pooled_counts = task.evaluate(model, pooled_site, own_stats)
        local_on_pooled[name] = task.metrics(pooled_counts)
        log.debug("local baseline for %s: %s", name, local[name])

    stats = combine_statistics([task.statistics(site) for site in sites])
    central = task.build_model(seed)
    task.train(central, pooled_site, stats, epochs=epochs, seed=seed)
    per_hospital = {
        task.profile(site).hospital: task.metrics(task.evaluate(central, site, stats))
        for site in sites
    }
    pooled = task.metrics(task.evaluate(central, pooled_site, stats))
    return {
        "local": local,
        "local_on_pooled": local_on_pooled,
        "centralized": {"hospitals": per_hospital, "pooled": pooled},
    }

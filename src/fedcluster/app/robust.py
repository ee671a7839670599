"""Robust aggregation: Flower's FedMedian, trimmed mean and Krum.

One hospital with a broken pipeline or a hostile operator can send an update
that drags a plain average anywhere. These strategies bound its pull:

- `fedmedian`: the coordinate-wise median of the updates;
- `fedtrimmedavg`: per coordinate, drop the `beta` fraction of highest and of
  lowest values and average the rest;
- `krum`: keep the update closest to its nearest neighbours (or average the
  `num_nodes_to_select` closest, Multi-Krum), assuming at most
  `num_malicious_nodes` hospitals misbehave.

They are Flower's implementations, handed our accepted updates by
`fedcluster.app.strategies.Aggregator`. None of them weighs a hospital by its
number of patients the way FedAvg does (Krum averages the updates it keeps
by examples), so a small hospital counts as much as a large one.

With few hospitals the guarantees are thin: Krum's proof needs at least
2f + 3 hospitals for f malicious ones, five for one; the demo's four make it
a heuristic that still sets a far-off update aside. With four hospitals and
f = 1 each update is scored by its single nearest neighbour, so two honest
hospitals that are each other's nearest tie, and plain Krum keeps whichever
replied first: the global model then jumps between hospitals from round to
round. `num_nodes_to_select = 3` (Multi-Krum, n - f) averages the three best
and is the steadier choice there. `check_options` refuses
settings that cannot work at all (a trimmed mean that trims nobody, Krum with
too few hospitals to score).
"""

from __future__ import annotations

from typing import Any

from flwr.serverapp.strategy import (
    FedMedian,
    FedTrimmedAvg,
    Krum,
    MultiKrum,
    Strategy,
)

from fedcluster.federation.options import (
    FedMedianSettings,
    FedTrimmedAvgSettings,
    KrumSettings,
)


def build_robust_strategy(settings: object, common: dict[str, Any]) -> Strategy:
    """The Flower strategy for a robust `[strategy]` table."""
    if isinstance(settings, FedMedianSettings):
        return FedMedian(**common)
    if isinstance(settings, FedTrimmedAvgSettings):
        return FedTrimmedAvg(beta=settings.beta, **common)
    if isinstance(settings, KrumSettings):
        if settings.num_nodes_to_select == 1:
            return Krum(num_malicious_nodes=settings.num_malicious_nodes, **common)
        return MultiKrum(
            num_malicious_nodes=settings.num_malicious_nodes,
            num_nodes_to_select=settings.num_nodes_to_select,
            **common,
        )
    raise TypeError(f"not a robust strategy: {settings!r}")

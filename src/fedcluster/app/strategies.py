"""Aggregation with Flower's strategies, driven by our own round loop.

The round loop (see `rounds`) sends the messages itself, so that one message
per round can carry both the evaluation of the incoming model and the
training of the next one. It hands each round's accepted updates to the
strategy's own `aggregate_train`, so FedAvg, FedProx and FedAdam are Flower's
implementations, not copies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from flwr.app import Message, MetricRecord, RecordDict
from flwr.serverapp.strategy import FedAdam, FedAvg, FedProx, Strategy
from numpy.typing import NDArray

from fedcluster.app import protocol
from fedcluster.federation.model import (
    FedAdamSettings,
    FedProxSettings,
    StrategySettings,
)
from fedcluster.federation.options import ROBUST_STRATEGIES

Arrays = dict[str, NDArray[Any]]


@dataclass(frozen=True)
class Update:
    """One hospital's accepted model update for a round."""

    hospital: str
    arrays: Arrays
    examples: int
    # How many hospitals' updates this one adds up (a secure sum adds many).
    hospitals: int = 1


class Aggregator:
    """Wraps a Flower strategy: aggregate updates, save and restore its state."""

    def __init__(self, settings: StrategySettings) -> None:
        self.settings = settings
        self.strategy = build_strategy(settings)

    @property
    def client_config(self) -> dict[str, float]:
        """Values every hospital needs for local training (FedProx's mu)."""
        if isinstance(self.settings, FedProxSettings):
            return {"proximal-mu": self.settings.proximal_mu}
        return {}

    @property
    def params(self) -> dict[str, Any]:
        return self.settings.model_dump(exclude={"name"})

    def aggregate(
        self, server_round: int, global_model: Arrays, updates: Sequence[Update]
    ) -> Arrays:
        if hasattr(self.strategy, "current_arrays"):
            # Server-side optimisers step from the model the round started with.
            self.strategy.current_arrays = {
                k: v.copy() for k, v in global_model.items()
            }
        replies = [_as_reply(update) for update in updates]
        arrays, _ = self.strategy.aggregate_train(server_round, replies)
        if arrays is None:
            raise ValueError("the strategy returned no model")
        aggregated = protocol.from_array_record(arrays)
        # Keep each array's dtype as the model defines it.
        return {k: aggregated[k].astype(global_model[k].dtype) for k in global_model}

    def state(self) -> dict[str, Any]:
        """The strategy's internal state that must survive a restart."""
        saved: dict[str, Any] = {}
        for name in ("m_t", "v_t"):
            value = getattr(self.strategy, name, None)
            if value:
                saved[name] = {k: np.asarray(v) for k, v in value.items()}
        return saved

    def restore(self, state: Mapping[str, Any]) -> None:
        for name, value in state.items():
            setattr(self.strategy, name, {k: np.asarray(v) for k, v in value.items()})


def build_strategy(settings: StrategySettings) -> Strategy:
    # Node sampling is done by the round loop; these only aggregate.
    common: dict[str, Any] = {"min_available_nodes": 1, "min_train_nodes": 1}
    if settings.name in ROBUST_STRATEGIES:
        from fedcluster.app.robust import build_robust_strategy

        return build_robust_strategy(settings, common)
    if isinstance(settings, FedProxSettings):
        return FedProx(proximal_mu=settings.proximal_mu, **common)
    if isinstance(settings, FedAdamSettings):
        return FedAdam(
            eta=settings.eta,
            eta_l=settings.eta_l,
            beta_1=settings.beta_1,
            beta_2=settings.beta_2,
            tau=settings.tau,
            **common,
        )
    return FedAvg(**common)


def _as_reply(update: Update) -> Message:
    content = RecordDict(
        {
            "arrays": protocol.to_array_record(update.arrays),
            "metrics": MetricRecord({"num-examples": update.examples}),
        }
    )
    return Message(content, dst_node_id=0, message_type="train")

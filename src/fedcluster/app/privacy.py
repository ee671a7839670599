"""Differential privacy of each hospital's model update.

Every hospital clips its update (trained model minus the global model it
received) to an L2 norm of at most `clipping_norm`, with Flower's
`compute_clip_model_update`. Gaussian noise of standard deviation
`noise_multiplier * clipping_norm` is then added

- by the hospital to its own clipped update (`noise = "hospital"`, local DP):
  the server, and anyone who could read the traffic, only ever sees a noised
  update; the per-round cost is the same as below, but the noise in the
  average is larger by the square root of the number of hospitals;
- or by the server to the sum (`noise = "server"`, central DP), with Flower's
  `DifferentialPrivacyClientSideFixedClipping` wrapper around the averaging
  strategy. The wrapper adds noise of `noise_multiplier * clipping_norm / n`
  to the average of n updates; every update then weighs the same in that
  average, whatever its number of patients, so that no hospital's share of
  it exceeds `clipping_norm / n`. The server sees clipped updates without
  noise; the model it releases carries the guarantee.

Flower's own DP mods expect one array record per message; ours carry the
evaluation counts beside the model, so the hospital side is this ClientApp
mod built on Flower's clipping function. What a run spent is computed by
`fedcluster.security.accounting` and booked by `fedcluster.security.ledger`.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from typing import Any

import numpy as np
from flwr.app import Context, Message
from flwr.clientapp.typing import ClientAppCallable
from flwr.serverapp.strategy import DifferentialPrivacyClientSideFixedClipping
from flwr.supercore.differential_privacy import compute_clip_model_update

from fedcluster.app import protocol
from fedcluster.app.strategies import Aggregator, Arrays, Update
from fedcluster.federation.options import DifferentialPrivacySettings

log = logging.getLogger(__name__)

# Round-order keys.
CLIPPING_NORM = "dp-clipping-norm"
NOISE_MULTIPLIER = "dp-noise-multiplier"
NOISE_AT = "dp-noise"


def privacy_orders(privacy: DifferentialPrivacySettings) -> dict[str, Any]:
    """What every hospital needs in its round orders to privatise its update."""
    return {
        CLIPPING_NORM: privacy.clipping_norm,
        NOISE_MULTIPLIER: privacy.noise_multiplier,
        NOISE_AT: privacy.noise,
    }


def privatise(
    trained: Arrays,
    global_model: Arrays,
    *,
    clipping_norm: float,
    noise_std: float,
    rng: np.random.Generator | None = None,
) -> Arrays:
    """`global + clip(trained - global) + noise`, array by array."""
    names = list(trained)
    updated = [np.asarray(trained[name], dtype=np.float64) for name in names]
    reference = [np.asarray(global_model[name], dtype=np.float64) for name in names]
    compute_clip_model_update(updated, reference, clipping_norm)
    if noise_std > 0:
        # Fresh entropy every time: noise that could be replayed protects nothing.
        generator = rng or np.random.default_rng(secrets.randbits(128))
        updated = [a + generator.normal(0.0, noise_std, a.shape) for a in updated]
    return {
        name: array.astype(trained[name].dtype)
        for name, array in zip(names, updated, strict=True)
    }


def privacy_mod(
    message: Message, context: Context, call_next: ClientAppCallable
) -> Message:
    """Clip, and at `noise = "hospital"` noise, the update in a round reply."""
    reply = call_next(message, context)
    orders = message.content.config_records.get(protocol.INSTRUCTIONS)
    if orders is None or CLIPPING_NORM not in orders or reply.has_error():
        return reply
    if protocol.UPDATED_MODEL not in reply.content.array_records:
        return reply

    clipping_norm = protocol.real(orders[CLIPPING_NORM])
    at_hospital = str(orders[NOISE_AT]) == "hospital"
    noise_std = (
        protocol.real(orders[NOISE_MULTIPLIER]) * clipping_norm if at_hospital else 0.0
    )
    private = privatise(
        protocol.arrays_in(reply.content, protocol.UPDATED_MODEL),
        protocol.arrays_in(message.content, protocol.GLOBAL_MODEL),
        clipping_norm=clipping_norm,
        noise_std=noise_std,
    )
    reply.content[protocol.UPDATED_MODEL] = protocol.to_array_record(private)
    return reply


class PrivateAggregator(Aggregator):
    """An aggregator that, at `noise = "server"`, noises the average."""

    def __init__(self, settings: Any, privacy: DifferentialPrivacySettings) -> None:
        super().__init__(settings)
        self.privacy = privacy
        self.server_noise: DifferentialPrivacyClientSideFixedClipping | None = None
        if privacy.noise == "server":
            self.server_noise = DifferentialPrivacyClientSideFixedClipping(
                self.strategy,
                noise_multiplier=privacy.noise_multiplier,
                clipping_norm=privacy.clipping_norm,
                num_sampled_clients=1,
            )
            self.strategy = self.server_noise

    @property
    def client_config(self) -> dict[str, Any]:
        return {**super().client_config, **privacy_orders(self.privacy)}

    def aggregate(
        self, server_round: int, global_model: Arrays, updates: Sequence[Update]
    ) -> Arrays:
        if self.server_noise is None:
            return super().aggregate(server_round, global_model, updates)

        # Equal weights bound each hospital's share of the average by C / n;
        # a secure sum stands for as many hospitals as it adds up.
        hospitals = sum(update.hospitals for update in updates)
        self.server_noise.num_sampled_clients = hospitals
        equal = [
            Update(u.hospital, u.arrays, u.hospitals, hospitals=u.hospitals)
            for u in updates
        ]
        log.debug("round %d: server noise for %d hospital(s)", server_round, hospitals)
        return super().aggregate(server_round, global_model, equal)

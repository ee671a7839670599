"""The privacy and robustness options, as the Flower apps apply them.

The round loop (`fedcluster.app.rounds`) and the ClientApp
(`fedcluster.app.client`) call these few functions and stay unaware of which
options a federation turned on:

- `build_aggregator`: the strategy wrapper, with server-side DP noise when
  `[privacy] noise = "server"`;
- `round_orders`: what the hospitals need to know each round for `[attack]`
  (testing only);
- `secure_aggregation_for`: the server's side of `[secure_aggregation]`;
- `hospital_mods`: the ClientApp mods, outermost first: secure masking, then
  DP clipping and noise, then the test-only poisoning, so that an update is
  poisoned, then privatised, then masked, as it would be at a real site.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flwr.app import Context
from flwr.clientapp.typing import Mod
from flwr.serverapp import Grid

from fedcluster.app.poison import ATTACK_HOSPITAL, ATTACK_SCALE, poison_mod
from fedcluster.app.privacy import PrivateAggregator, privacy_mod
from fedcluster.app.secure_aggregation import Identify, SecureAggregation
from fedcluster.app.secure_masking import secure_aggregation_mod
from fedcluster.app.strategies import Aggregator
from fedcluster.federation.model import Federation
from fedcluster.federation.options import secure_aggregation_on


def build_aggregator(federation: Federation) -> Aggregator:
    if federation.privacy is not None:
        return PrivateAggregator(federation.strategy, federation.privacy)
    return Aggregator(federation.strategy)


def round_orders(federation: Federation) -> dict[str, Any]:
    attack = federation.attack
    if attack is None:
        return {}
    return {ATTACK_HOSPITAL: attack.hospital, ATTACK_SCALE: attack.scale}


def secure_aggregation_for(
    federation: Federation,
    grid: Grid,
    *,
    identify: Identify,
    poll_interval: float,
) -> SecureAggregation | None:
    settings = federation.secure_aggregation
    if settings is None or not secure_aggregation_on(federation):
        return None
    return SecureAggregation(
        settings,
        grid,
        identify=identify,
        timeout=federation.round_timeout,
        poll_interval=poll_interval,
    )


def hospital_mods(hospital_of: Callable[[Context], str]) -> list[Mod]:
    return [secure_aggregation_mod(hospital_of), privacy_mod, poison_mod]

"""The privacy and robustness options of `federation.toml`.

Each option is its own table and is off unless the table is present:

- `[privacy]`: differential privacy. Every hospital clips its model update to
  `clipping_norm` and Gaussian noise of `noise_multiplier * clipping_norm` is
  added, either by each hospital to its own update (`noise = "hospital"`, the
  server never sees an update without noise) or by the server to the sum
  (`noise = "server"`). `budget` caps the epsilon each hospital may spend
  across all runs of the federation (see `fedcluster.security.ledger`).
- `[secure_aggregation]`: hospitals mask their updates so that the server can
  read only their sum (see `fedcluster.app.secure_aggregation`).
- `[personalisation]`: after the last round each hospital fine-tunes the
  global model on its own rows for a few epochs, and reports it separately.
- robust strategies in `[strategy]`: `fedmedian`, `fedtrimmedavg`, `krum`.
- `[attack]`: for tests and demonstrations only; one hospital sends a
  poisoned update, to show what the robust strategies are for.

`check_options` holds the rules that need the whole federation (how many
hospitals there are, which strategy is chosen); the federation model calls it
when a file is validated, so a combination that cannot work is refused with a
one-line message before any run starts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DifferentialPrivacySettings(_Table):
    """`[privacy]`: clipping and Gaussian noise of each hospital's update."""

    clipping_norm: Annotated[float, Field(gt=0.0)] = 1.0
    noise_multiplier: Annotated[float, Field(gt=0.0)] = 1.0
    noise: Literal["hospital", "server"] = "hospital"
    delta: Annotated[float, Field(gt=0.0, lt=0.1)] = 1e-5
    # Epsilon (at `delta`) each hospital may spend over all runs; None: no cap.
    budget: Annotated[float, Field(gt=0.0)] | None = None
    # A hospital's own cap, by hospital name, instead of `budget`.
    hospital_budgets: dict[str, Annotated[float, Field(gt=0.0)]] = {}

    def budget_of(self, hospital: str) -> float | None:
        return self.hospital_budgets.get(hospital, self.budget)


class SecureAggregationSettings(_Table):
    """`[secure_aggregation]`: the server learns only the sum of the updates."""

    enabled: bool = True
    # How many hospitals must answer to remove a dropped hospital's masks;
    # None: a majority of the hospitals in the round, and at least 2.
    threshold: Annotated[int, Field(ge=2)] | None = None
    # Updates travel as fixed-point integers with this many fractional bits.
    precision_bits: Annotated[int, Field(ge=8, le=40)] = 24


class PersonalisationSettings(_Table):
    """`[personalisation]`: local fine-tuning of the final global model."""

    enabled: bool = True
    epochs: Annotated[int, Field(ge=1, le=1_000)] = 3


class AttackSettings(_Table):
    """`[attack]`, for tests and demonstrations only: one hospital misbehaves.

    The hospital scales its real update (trained model minus global model) by
    `scale` before sending it, so the poisoned update travels the same message
    path as an honest one.
    """

    hospital: str
    scale: float = -10.0


class FedMedianSettings(_Table):
    name: Literal["fedmedian"]


class FedTrimmedAvgSettings(_Table):
    name: Literal["fedtrimmedavg"]
    # Fraction cut from each end, per parameter; with 4 hospitals 0.25 drops
    # the highest and the lowest value and averages the middle two.
    beta: Annotated[float, Field(ge=0.0, lt=0.5)] = 0.25


class KrumSettings(_Table):
    name: Literal["krum"]
    num_malicious_nodes: Annotated[int, Field(ge=0)] = 1
    # 1 is Krum; more averages that many best-scored updates (Multi-Krum).
    num_nodes_to_select: Annotated[int, Field(ge=1)] = 1


RobustSettings = FedMedianSettings | FedTrimmedAvgSettings | KrumSettings
ROBUST_STRATEGIES = ("fedmedian", "fedtrimmedavg", "krum")
# Strategies that average the updates: the only ones a sum can feed, and the
# only ones whose sensitivity the privacy accounting assumes.
_AVERAGING = ("fedavg", "fedprox")
_SUMMABLE = ("fedavg", "fedprox", "fedadam")


class _Named(Protocol):
    @property
    def name(self) -> str: ...


class _Federated(Protocol):
    """The parts of a `Federation` the checks read (avoids an import cycle)."""

    @property
    def hospitals(self) -> Sequence[_Named]: ...

    @property
    def strategy(self) -> object: ...

    @property
    def privacy(self) -> DifferentialPrivacySettings | None: ...

    @property
    def secure_aggregation(self) -> SecureAggregationSettings | None: ...

    @property
    def attack(self) -> AttackSettings | None: ...


def secure_aggregation_on(federation: _Federated) -> bool:
    settings = federation.secure_aggregation
    return settings is not None and settings.enabled


def check_options(federation: _Federated) -> None:
    """Raise ValueError, one line, for options that cannot work together."""
    names = [hospital.name for hospital in federation.hospitals]
    strategy = str(getattr(federation.strategy, "name", ""))
    _check_robust(federation.strategy, len(names))

    privacy = federation.privacy
    if privacy is not None:
        unknown = sorted(set(privacy.hospital_budgets) - set(names))
        if names and unknown:
            raise ValueError(
                f"privacy.hospital_budgets names {unknown[0]!r}, which is not a "
                "listed hospital; use a [[hospital]] name"
            )
        if privacy.noise == "server" and strategy not in _AVERAGING:
            raise ValueError(
                f'privacy.noise = "server" calibrates noise for an average, which '
                f'{strategy} is not; use noise = "hospital" or strategy fedavg'
            )

    secure = federation.secure_aggregation
    if secure is not None and secure.enabled:
        if strategy not in _SUMMABLE:
            raise ValueError(
                f"secure aggregation lets the server see only the sum of the "
                f"updates, and {strategy} needs each one; choose fedavg, fedprox "
                "or fedadam, or turn [secure_aggregation] off"
            )
        if names and secure.threshold is not None and secure.threshold > len(names):
            raise ValueError(
                f"secure_aggregation.threshold is {secure.threshold} but only "
                f"{len(names)} hospitals are listed; lower the threshold"
            )

    attack = federation.attack
    if attack is not None and names and attack.hospital not in names:
        raise ValueError(
            f"attack.hospital {attack.hospital!r} is not a listed hospital; "
            "use a [[hospital]] name"
        )


def _check_robust(strategy: object, hospitals: int) -> None:
    if not hospitals:
        return  # hospitals split from one file are counted when it is loaded
    if isinstance(strategy, FedTrimmedAvgSettings):
        trimmed = int(strategy.beta * hospitals)
        if trimmed == 0:
            raise ValueError(
                f"strategy.beta = {strategy.beta} trims no hospital out of "
                f"{hospitals}; raise beta to at least {1 / hospitals:.2f}"
            )
    if isinstance(strategy, KrumSettings):
        malicious = strategy.num_malicious_nodes
        if hospitals < malicious + 3:
            raise ValueError(
                f"krum with num_malicious_nodes = {malicious} needs at least "
                f"{malicious + 3} hospitals, and {hospitals} are listed; lower "
                "num_malicious_nodes"
            )
        if strategy.num_nodes_to_select > hospitals - malicious:
            raise ValueError(
                f"strategy.num_nodes_to_select = {strategy.num_nodes_to_select} "
                f"would pick some of the {malicious} malicious hospital(s) out of "
                f"{hospitals}; use at most {hospitals - malicious}"
            )

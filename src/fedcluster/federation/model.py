"""The pydantic model of `federation.toml`.

A federation file names the hospitals and where each one's data lives, the task,
the strategy, the rounds and the security settings. Unknown keys are refused so
that a misspelt option never silently falls back to a default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from fedcluster.federation.kubernetes import HospitalKubernetes, KubernetesSettings
from fedcluster.federation.local import LocalSettings
from fedcluster.federation.options import (
    AttackSettings,
    DifferentialPrivacySettings,
    FedMedianSettings,
    FedTrimmedAvgSettings,
    KrumSettings,
    PersonalisationSettings,
    SecureAggregationSettings,
    check_options,
)
from fedcluster.federation.simulation import SimulationSettings
from fedcluster.federation.traffic import TrafficSettings

Runtime = Literal["simulation", "local", "kubernetes"]

# Hospital names become file names, Flower node config values and Kubernetes
# object names, so they are kept to a portable set of characters.
HOSPITAL_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}$"


class Strict(BaseModel):
    """Base for every table of the file: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Hospital(Strict):
    """One hospital: its name and the file holding its patients' rows."""

    name: Annotated[str, Field(pattern=HOSPITAL_NAME_PATTERN)]
    data: Path
    # Where this hospital runs in the Kubernetes runtime, and its data there.
    kubernetes: HospitalKubernetes | None = None

    @property
    def slug(self) -> str:
        """The name in lower case with spaces and dots as dashes, for file names."""
        return "-".join(self.name.lower().replace(".", " ").split())


class TaskSettings(BaseModel):
    """Which task to train; every other key is a parameter of that task.

    The task validates its own parameters (see `fedcluster.tasks`), so this
    table allows extra keys and hands them over untouched.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    name: str = "heart"

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class FedAvgSettings(Strict):
    name: Literal["fedavg"]


class FedProxSettings(Strict):
    name: Literal["fedprox"]
    proximal_mu: Annotated[float, Field(ge=0.0)] = 0.1


class FedAdamSettings(Strict):
    name: Literal["fedadam"]
    eta: Annotated[float, Field(gt=0.0)] = 0.05
    eta_l: Annotated[float, Field(gt=0.0)] = 0.05
    beta_1: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.9
    beta_2: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.99
    tau: Annotated[float, Field(gt=0.0)] = 1e-3


StrategySettings = Annotated[
    FedAvgSettings
    | FedProxSettings
    | FedAdamSettings
    | FedMedianSettings
    | FedTrimmedAvgSettings
    | KrumSettings,
    Field(discriminator="name"),
]


class Federation(Strict):
    """A whole federation file, with relative paths already resolved."""

    name: Annotated[str, Field(min_length=1)]
    runtime: Runtime = "simulation"
    rounds: Annotated[int, Field(ge=1, le=10_000)] = 20
    local_epochs: Annotated[int, Field(ge=1, le=1_000)] = 1
    min_hospitals: Annotated[int, Field(ge=1)] = 2
    seed: int = 0
    # Seconds the server waits for a round's replies before it aggregates
    # whatever arrived, and seconds it tolerates fewer than `min_hospitals`
    # online before the run fails instead of waiting forever.
    round_timeout: Annotated[float, Field(gt=0.0)] = 300.0
    quorum_deadline: Annotated[float, Field(gt=0.0)] = 120.0
    runs_dir: Path = Path("runs")
    state_dir: Path = Path(".fedcluster")
    task: TaskSettings = TaskSettings()
    strategy: StrategySettings = FedAvgSettings(name="fedavg")
    local: LocalSettings = LocalSettings()
    kubernetes: KubernetesSettings | None = None
    traffic: TrafficSettings = TrafficSettings()
    # Hospitals split from one table; the [[hospital]] list is then filled in
    # by `fedcluster.federation.simulated` when the file is loaded.
    simulation: SimulationSettings | None = None
    hospitals: Annotated[list[Hospital], Field(alias="hospital")]
    # Privacy and robustness options (see `fedcluster.federation.options`).
    privacy: DifferentialPrivacySettings | None = None
    secure_aggregation: SecureAggregationSettings | None = None
    personalisation: PersonalisationSettings | None = None
    attack: AttackSettings | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    # Where the file was read from; None for a federation built in code.
    _source: Path | None = PrivateAttr(default=None)

    @property
    def source(self) -> Path | None:
        return self._source

    @model_validator(mode="after")
    def _hospitals_are_distinct_and_enough(self) -> Federation:
        if self.hospitals and self.simulation is not None:
            raise ValueError(
                "[simulation] makes the hospitals from one file; remove the "
                "[[hospital]] tables or the [simulation] table"
            )
        # Split hospitals are listed when the file is loaded; a natural split
        # only knows how many once it has read the table.
        listed = len(self.hospitals)
        if self.simulation is not None:
            listed = self.simulation.hospitals or self.min_hospitals
        seen: set[str] = set()
        for hospital in self.hospitals:
            if hospital.slug in seen:
                raise ValueError(
                    f"hospital name {hospital.name!r} is used twice; "
                    "give every [[hospital]] its own name"
                )
            seen.add(hospital.slug)
        if self.min_hospitals > listed:
            raise ValueError(
                f"min_hospitals is {self.min_hospitals} but only "
                f"{listed} hospitals are listed; lower min_hospitals"
            )
        return self

    @model_validator(mode="after")
    def _options_fit_together(self) -> Federation:
        check_options(self)
        return self

    @model_validator(mode="before")
    @classmethod
    def _no_hospital_tables_with_simulation(cls, data: Any) -> Any:
        if (
            isinstance(data, dict)
            and data.get("simulation") is not None
            and "hospital" not in data
            and "hospitals" not in data
        ):
            return {**data, "hospital": []}
        return data

    @field_validator("hospitals")
    @classmethod
    def _some_hospitals(
        cls, hospitals: list[Hospital], info: ValidationInfo
    ) -> list[Hospital]:
        # A field check, so that the error names the `hospital` key.
        if not hospitals and info.data.get("simulation") is None:
            raise ValueError(
                "no hospitals: add one [[hospital]] table per hospital, or a "
                "[simulation] table that splits one file into hospitals"
            )
        return hospitals

    def on_runtime(self, runtime: str) -> Federation:
        """This federation run on `runtime` instead of the file's own."""
        if runtime == self.runtime:
            return self
        changed = self.model_copy(update={"runtime": runtime})
        changed._source = self._source
        return changed

    def hospital(self, name: str) -> Hospital:
        """The hospital called `name`; KeyError when there is none."""
        for hospital in self.hospitals:
            if hospital.name == name:
                return hospital
        raise KeyError(name)

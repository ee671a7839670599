"""Where the local runtime keeps its files inside the federation's state folder.

    <state>/pki/...                      key material (`fedcluster.security.pki`)
    <state>/local/state.json             what `up` started (pids, process groups)
    <state>/local/registrations.json     Flower node id of each hospital's key
    <state>/local/superlink.db           the SuperLink's database
    <state>/local/superexec.secret       shared by the SuperLink and its SuperExec
    <state>/local/flwr-home/             FLWR_HOME of the SuperLink side and CLI
    <state>/local/app/pyproject.toml     the Flower app `flwr run` submits
    <state>/local/hospitals/<slug>/      one hospital's FLWR_HOME, node config
                                         and SuperExec secret
    <state>/local/logs/<component>.log   one log per process

Everything a hospital's processes read lives under its own folder, plus its
private key and the CA certificate from `pki/`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fedcluster.federation.local import state_folder
from fedcluster.federation.model import Federation, Hospital
from fedcluster.security.pki import PkiLayout

# The name of the SuperLink connection in `<flwr-home>/config.toml`; each
# federation has its own FLWR_HOME, so one fixed name is enough.
CONNECTION = "fedcluster"


@dataclass(frozen=True)
class LocalLayout:
    """Paths of one federation's local runtime."""

    root: Path
    pki: PkiLayout

    @classmethod
    def of(cls, federation: Federation) -> LocalLayout:
        return cls(state_folder(federation) / "local", PkiLayout.of(federation))

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    @property
    def registrations(self) -> Path:
        return self.root / "registrations.json"

    @property
    def database(self) -> Path:
        return self.root / "superlink.db"

    @property
    def superexec_secret(self) -> Path:
        return self.root / "superexec.secret"

    @property
    def flwr_home(self) -> Path:
        return self.root / "flwr-home"

    @property
    def app(self) -> Path:
        return self.root / "app"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def log(self, component: str) -> Path:
        return self.logs / f"{component}.log"

    def hospital_folder(self, hospital: Hospital) -> Path:
        return self.root / "hospitals" / hospital.slug

    def hospital_home(self, hospital: Hospital) -> Path:
        return self.hospital_folder(hospital) / "flwr-home"

    def node_config(self, hospital: Hospital) -> Path:
        return self.hospital_folder(hospital) / "node-config.toml"

    def hospital_secret(self, hospital: Hospital) -> Path:
        return self.hospital_folder(hospital) / "superexec.secret"

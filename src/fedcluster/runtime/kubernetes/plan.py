"""A federation read for the Kubernetes runtime, with its cross-hospital checks.

Pydantic checks each table on its own; what needs the whole file is checked
here: every hospital has a `[hospital.kubernetes]` table, no two hospitals
share a Liqo cluster, and hospital names stay distinct as Kubernetes names.
Problems are reported in the loader's one-line `file: key ...: problem; fix`
form.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fedcluster.errors import FederationFileError
from fedcluster.federation.kubernetes import HospitalKubernetes, KubernetesSettings
from fedcluster.federation.model import Federation, Hospital
from fedcluster.runtime.kubernetes import names


@dataclass(frozen=True)
class ClusterHospital:
    """One hospital as deployed: its settings and its Kubernetes names."""

    hospital: Hospital
    settings: HospitalKubernetes
    index: int

    @property
    def name(self) -> str:
        return self.hospital.name

    @property
    def label(self) -> str:
        return names.hospital_label_value(self.hospital.slug)

    @property
    def deployment(self) -> str:
        return names.supernode_name(self.hospital.slug)

    @property
    def key_secret(self) -> str:
        return names.key_secret_name(self.hospital.slug)

    @property
    def data_path(self) -> str:
        """The data file as the ClientApp sees it inside the pod."""
        return f"{names.DATA_DIR}/{self.settings.data_file}"


@dataclass(frozen=True)
class ClusterPlan:
    """Everything the Kubernetes runtime needs from a federation file."""

    federation: Federation
    settings: KubernetesSettings
    hospitals: tuple[ClusterHospital, ...]

    @property
    def namespace(self) -> str:
        return self.settings.namespace

    @property
    def source(self) -> Path:
        """The federation file; the Kubernetes runtime needs one on disk."""
        source = self.federation.source
        if source is None:
            raise FederationFileError(
                "the Kubernetes runtime needs a federation read from a file; "
                "load it with `load_federation`"
            )
        return source

    def hospital(self, name: str) -> ClusterHospital:
        for entry in self.hospitals:
            if entry.name == name:
                return entry
        known = ", ".join(entry.name for entry in self.hospitals)
        raise FederationFileError(f"no hospital called {name!r}; choose one of {known}")

    def public_key_path(self, entry: ClusterHospital) -> Path | None:
        """The hospital's public key file, relative paths taken from the file."""
        path = entry.settings.public_key
        if path is None or path.is_absolute():
            return path
        base = self.federation.source.parent if self.federation.source else Path()
        return base / path


def cluster_plan(federation: Federation) -> ClusterPlan:
    """Check `federation` for the Kubernetes runtime and return its plan."""
    where = str(federation.source or "federation")
    settings = federation.kubernetes or KubernetesSettings()

    entries: list[ClusterHospital] = []
    for index, hospital in enumerate(federation.hospitals):
        if hospital.kubernetes is None:
            raise FederationFileError(
                f"{where}: key hospital[{index}].kubernetes (hospital "
                f"{hospital.name!r}): missing; add a [hospital.kubernetes] table "
                "with cluster_id, data_file and data_pvc or data_host_path"
            )
        entries.append(ClusterHospital(hospital, hospital.kubernetes, index))

    _no_shared_clusters(where, entries)
    _distinct_names(where, entries)
    return ClusterPlan(federation, settings, tuple(entries))


def _no_shared_clusters(where: str, entries: list[ClusterHospital]) -> None:
    # Two hospitals on one cluster would share a twin namespace, and with it
    # every Secret and volume there: each hospital needs its own cluster.
    owner: dict[str, ClusterHospital] = {}
    for entry in entries:
        cluster = entry.settings.cluster_id
        if cluster in owner:
            raise FederationFileError(
                f"{where}: key hospital[{entry.index}].kubernetes.cluster_id "
                f"(hospital {entry.name!r}): cluster {cluster!r} is already "
                f"used by hospital {owner[cluster].name!r}; give every hospital "
                "its own cluster"
            )
        owner[cluster] = entry


def _distinct_names(where: str, entries: list[ClusterHospital]) -> None:
    owner: dict[str, ClusterHospital] = {}
    for entry in entries:
        if entry.deployment in owner:
            raise FederationFileError(
                f"{where}: key hospital[{entry.index}].name (hospital "
                f"{entry.name!r}): becomes the Kubernetes name "
                f"{entry.deployment!r}, as does hospital "
                f"{owner[entry.deployment].name!r}; rename one of them"
            )
        owner[entry.deployment] = entry

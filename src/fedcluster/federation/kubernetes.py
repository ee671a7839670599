"""The `[kubernetes]` table and each hospital's `[hospital.kubernetes]` table.

The Kubernetes runtime deploys the SuperLink in a central cluster and one
SuperNode per hospital on that hospital's Liqo virtual node. These settings say
where (namespace, each hospital's Liqo cluster id), with what (images,
resources, the SuperLink's storage) and against which data: a volume that
exists only in the hospital's own cluster, an existing PersistentVolumeClaim or
a host path, plus the file inside it.

A hospital's `data` key stays what it is for the other runtimes (a local copy
for simulation); the Kubernetes runtime reads `[hospital.kubernetes]` instead.
"""

from __future__ import annotations

import re
from ipaddress import ip_network
from pathlib import Path, PurePosixPath
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Kubernetes quantities as written by people: 250m, 0.5, 512Mi, 2Gi, 1G.
QUANTITY_PATTERN = r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$"
# A DNS-1123 label: namespace and object names.
DNS_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
# A DNS-1123 subdomain: PersistentVolumeClaim and node names.
DNS_SUBDOMAIN_PATTERN = r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"
# Liqo cluster ids end up as node label values.
CLUSTER_ID_PATTERN = r"^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$"

Quantity = Annotated[str, Field(pattern=QUANTITY_PATTERN)]

_SUFFIXES = {
    "": 1.0,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "Ki": 2.0**10,
    "Mi": 2.0**20,
    "Gi": 2.0**30,
    "Ti": 2.0**40,
}


def quantity_value(quantity: str) -> float:
    """The number a quantity such as `250m` or `2Gi` stands for."""
    match = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", quantity)
    if match is None or match.group(2) not in _SUFFIXES:
        raise ValueError(f"{quantity!r} is not a Kubernetes quantity")
    return float(match.group(1)) * _SUFFIXES[match.group(2)]


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ContainerResources(_Table):
    """Requests (what the scheduler reserves) and limits of one container."""

    cpu: Quantity
    memory: Quantity
    cpu_limit: Quantity
    memory_limit: Quantity

    @model_validator(mode="after")
    def _limits_cover_requests(self) -> ContainerResources:
        if quantity_value(self.cpu_limit) < quantity_value(self.cpu):
            raise ValueError(
                f"cpu_limit {self.cpu_limit} is below the request {self.cpu}; "
                "raise cpu_limit"
            )
        if quantity_value(self.memory_limit) < quantity_value(self.memory):
            raise ValueError(
                f"memory_limit {self.memory_limit} is below the request "
                f"{self.memory}; raise memory_limit"
            )
        return self


def _resources(
    cpu: str, memory: str, cpu_limit: str, memory_limit: str
) -> ContainerResources:
    return ContainerResources(
        cpu=cpu, memory=memory, cpu_limit=cpu_limit, memory_limit=memory_limit
    )


class ResourceSettings(_Table):
    """Per-container resources. The ServerApp and ClientApp import torch."""

    superlink: ContainerResources = _resources("250m", "512Mi", "1", "1Gi")
    serverapp: ContainerResources = _resources("500m", "1Gi", "2", "3Gi")
    gate: ContainerResources = _resources("50m", "64Mi", "500m", "128Mi")
    supernode: ContainerResources = _resources("100m", "256Mi", "500m", "512Mi")
    clientapp: ContainerResources = _resources("500m", "1Gi", "2", "3Gi")


class ImageSettings(_Table):
    """Container images; build the first two from `docker/` in this repository."""

    superlink: Annotated[str, Field(pattern=r"^\S+$")] = "fedcluster/superlink:0.1.0"
    supernode: Annotated[str, Field(pattern=r"^\S+$")] = "fedcluster/supernode:0.1.0"
    # The TLS gate in front of the SuperLink: a stock unprivileged nginx.
    gate: Annotated[str, Field(pattern=r"^\S+$")] = (
        "nginxinc/nginx-unprivileged:1.27-alpine"
    )
    pull_policy: Literal["Always", "IfNotPresent", "Never"] = "IfNotPresent"


class StorageSettings(_Table):
    """The SuperLink's state database lives on this PersistentVolumeClaim."""

    size: Quantity = "1Gi"
    # None: the central cluster's default storage class.
    storage_class: Annotated[str, Field(pattern=DNS_SUBDOMAIN_PATTERN)] | None = None


class ControlSettings(_Table):
    """How the Control API (submitting and watching runs) is reached.

    Without `ingress_host`, commands open a `kubectl port-forward` for the
    duration of the command and close it afterwards.
    """

    ingress_host: Annotated[str, Field(pattern=DNS_SUBDOMAIN_PATTERN)] | None = None
    ingress_class: Annotated[str, Field(pattern=DNS_SUBDOMAIN_PATTERN)] | None = None
    # The namespace of the ingress controller, the only one allowed to reach
    # the Control API port besides the central cluster's operator pods.
    ingress_namespace: Annotated[str, Field(pattern=DNS_LABEL_PATTERN)] = (
        "ingress-nginx"
    )
    # Local port of the port-forward; 0 picks a free one.
    local_port: Annotated[int, Field(ge=0, le=65_535)] = 0


class KubernetesSettings(_Table):
    """The `[kubernetes]` table: the central cluster side of the deployment."""

    # kubeconfig context of the central cluster; None: the current context.
    context: str | None = None
    namespace: Annotated[str, Field(pattern=DNS_LABEL_PATTERN)] = "fedcluster"
    liqo_namespace: Annotated[str, Field(pattern=DNS_LABEL_PATTERN)] = "liqo"
    # DefaultName avoids clashes in hospital clusters; EnforceSameName gives
    # the hospital's twin namespace the same name as the central one.
    namespace_mapping: Literal["DefaultName", "EnforceSameName"] = "DefaultName"
    images: ImageSettings = ImageSettings()
    resources: ResourceSettings = ResourceSettings()
    storage: StorageSettings = StorageSettings()
    control: ControlSettings = ControlSettings()
    # Source ranges allowed to reach the Fleet API port; empty: any source.
    # Hospital traffic arrives through Liqo's tunnel with remapped addresses.
    fleet_sources: list[str] = []
    # Seconds `fedcluster k8s up` waits for offloading and for every pod.
    wait_timeout: Annotated[float, Field(gt=0.0)] = 600.0

    @field_validator("fleet_sources")
    @classmethod
    def _sources_are_networks(cls, sources: list[str]) -> list[str]:
        for source in sources:
            try:
                ip_network(source)
            except ValueError as error:
                raise ValueError(
                    f"{source!r} is not a network such as 10.0.0.0/8 ({error})"
                ) from error
        return sources


class HospitalKubernetes(_Table):
    """The `[hospital.kubernetes]` table: where this hospital runs and its data."""

    # The hospital cluster's Liqo cluster id (`liqoctl info --get clusterid`,
    # run against the hospital's cluster).
    cluster_id: Annotated[str, Field(pattern=CLUSTER_ID_PATTERN)]
    # The virtual node for that cluster in the central one; Liqo names it
    # after the cluster id unless told otherwise. Only needed for a PVC.
    virtual_node: Annotated[str, Field(pattern=DNS_SUBDOMAIN_PATTERN)] | None = None
    # Exactly one of: an existing PersistentVolumeClaim in the hospital's twin
    # namespace, or a folder on the hospital's nodes.
    data_pvc: Annotated[str, Field(pattern=DNS_SUBDOMAIN_PATTERN)] | None = None
    data_host_path: str | None = None
    # The data file inside that volume, relative to its root.
    data_file: str
    # A group that may read the data; the pod joins it.
    data_gid: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    # The public key the hospital handed over (`fedcluster k8s hospital-key`);
    # relative paths are taken from the folder holding the federation file.
    public_key: Path | None = None

    @field_validator("data_host_path")
    @classmethod
    def _host_path_is_absolute(cls, path: str | None) -> str | None:
        if path is None:
            return None
        pure = PurePosixPath(path)
        if not pure.is_absolute() or ".." in pure.parts:
            raise ValueError(
                f"{path!r} is not an absolute path without '..'; "
                "write the folder as /path/on/the/hospital/nodes"
            )
        return path

    @field_validator("data_file")
    @classmethod
    def _file_is_inside_the_volume(cls, path: str) -> str:
        pure = PurePosixPath(path)
        if not path or pure.is_absolute() or ".." in pure.parts or path == ".":
            raise ValueError(
                f"{path!r} must be a file path relative to the volume root, "
                "without '..'"
            )
        if any(character in path for character in "\"'\n"):
            raise ValueError(f"{path!r} must not contain quotes or line breaks")
        return path

    @model_validator(mode="after")
    def _one_data_source(self) -> HospitalKubernetes:
        if (self.data_pvc is None) == (self.data_host_path is None):
            raise ValueError(
                "give exactly one of data_pvc (an existing claim in the hospital's "
                "cluster) or data_host_path (a folder on its nodes)"
            )
        return self

    @property
    def node_name(self) -> str:
        """The virtual node's name in the central cluster."""
        return self.virtual_node or self.cluster_id

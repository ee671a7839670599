"""The namespace and its Liqo `NamespaceOffloading`, and reading its status.

Liqo extends a namespace to the clusters its `NamespaceOffloading` selects
(the object must be named `offloading`). The selector lists exactly the
hospitals' cluster ids, so a cluster peered for another purpose never receives
this federation's pods, Services or ConfigMaps. Pods may still run locally
(`LocalAndRemote`): the SuperLink stays in the central cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fedcluster.runtime.kubernetes import names
from fedcluster.runtime.kubernetes.plan import ClusterPlan
from fedcluster.runtime.kubernetes.pods import Manifest

API_VERSION = "offloading.liqo.io/v1beta1"


def namespace(plan: ClusterPlan) -> Manifest:
    # Every pod here meets the Pod Security "restricted" profile, except that
    # a host path volume is outside every profile but "privileged": with one,
    # the namespace only warns.
    host_paths = any(entry.settings.data_host_path for entry in plan.hospitals)
    mode = "warn" if host_paths else "enforce"
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": plan.namespace,
            "labels": {
                names.MANAGED_BY_LABEL: names.MANAGED_BY,
                f"pod-security.kubernetes.io/{mode}": "restricted",
            },
        },
    }


def namespace_offloading(plan: ClusterPlan) -> Manifest:
    cluster_ids = [entry.settings.cluster_id for entry in plan.hospitals]
    return {
        "apiVersion": API_VERSION,
        "kind": "NamespaceOffloading",
        "metadata": {
            "name": names.OFFLOADING,
            "namespace": plan.namespace,
            "labels": {names.MANAGED_BY_LABEL: names.MANAGED_BY},
        },
        "spec": {
            "namespaceMappingStrategy": plan.settings.namespace_mapping,
            "podOffloadingStrategy": "LocalAndRemote",
            "clusterSelector": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {
                                "key": names.LIQO_CLUSTER_LABEL,
                                "operator": "In",
                                "values": cluster_ids,
                            }
                        ]
                    }
                ]
            },
        },
    }


@dataclass(frozen=True)
class OffloadingStatus:
    """What Liqo reports about the namespace's offloading."""

    phase: str
    remote_namespace: str
    # Cluster id -> the reason a twin namespace is not ready, for failed ones.
    problems: dict[str, str]

    @property
    def ready(self) -> bool:
        return self.phase == "Ready"


def offloading_status(document: dict[str, Any]) -> OffloadingStatus:
    """Read `kubectl get namespaceoffloading offloading -o json`."""
    status = document.get("status") or {}
    problems: dict[str, str] = {}
    for cluster, conditions in (status.get("remoteNamespacesConditions") or {}).items():
        for condition in conditions or []:
            if condition.get("type") == "Ready" and condition.get("status") != "True":
                problems[cluster] = str(
                    condition.get("message") or condition.get("reason") or "not ready"
                )
    return OffloadingStatus(
        phase=str(status.get("offloadingPhase") or "Pending"),
        remote_namespace=str(status.get("remoteNamespaceName") or ""),
        problems=problems,
    )

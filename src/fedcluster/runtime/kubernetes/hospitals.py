"""One Deployment per hospital, pinned to that hospital's Liqo virtual node.

A StatefulSet cannot send its replicas to different clusters, so each hospital
gets its own one-replica Deployment whose `nodeSelector` names the hospital's
Liqo cluster id and which tolerates Liqo's virtual-node taint. The pod runs the
SuperNode and a ClientApp SuperExec; the data volume (an existing claim or a
host path in the hospital's cluster; Liqo passes pod volumes through
unchanged) is mounted read-only in the ClientApp container only, and the node
config tells the ClientApp the hospital's name and the file to read.

The private key is mounted from a Secret that the hospital creates in its own
cluster (`fedcluster k8s hospital-key`). Nothing in the central cluster holds
it, so Liqo cannot reflect it anywhere: the central namespace only names it.

`hospital_side_policy` is the NetworkPolicy a hospital applies in its own
cluster: Liqo does not reflect NetworkPolicies, so only the hospital can limit
what its SuperNode pod may reach there.
"""

from __future__ import annotations

from fedcluster.runtime.kubernetes import names
from fedcluster.runtime.kubernetes.plan import ClusterHospital, ClusterPlan
from fedcluster.runtime.kubernetes.pods import (
    Manifest,
    container_security,
    flower_env,
    grpc_probes,
    image_fields,
    pod_security,
    resources,
    scratch_mounts,
    scratch_volumes,
)


def supernode_labels(entry: ClusterHospital) -> dict[str, str]:
    return {**names.common_labels("supernode"), names.HOSPITAL_LABEL: entry.label}


def node_config(entry: ClusterHospital) -> str:
    """The SuperNode's `--node-config`: the hospital and its file in the pod."""
    return f'hospital="{entry.name}" data-path="{entry.data_path}"'


def supernode_deployment(plan: ClusterPlan, entry: ClusterHospital) -> Manifest:
    labels = supernode_labels(entry)
    settings = entry.settings
    spec: Manifest = {
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": pod_security(
            extra_groups=[settings.data_gid] if settings.data_gid else None
        ),
        "nodeSelector": {
            names.LIQO_TYPE_LABEL: names.LIQO_VIRTUAL_NODE,
            names.LIQO_CLUSTER_LABEL: settings.cluster_id,
        },
        "tolerations": [
            {
                "key": names.LIQO_TAINT,
                "operator": "Exists",
                "effect": "NoExecute",
            }
        ],
        "terminationGracePeriodSeconds": 30,
        "containers": [_supernode_container(plan, entry), _clientapp_container(plan)],
        "volumes": _volumes(entry),
    }
    if settings.data_pvc:
        # The claim exists only in the hospital's cluster; the central
        # scheduler would wait for it forever, so the pod is bound to the
        # hospital's virtual node directly.
        spec["nodeName"] = settings.node_name

    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": entry.deployment,
            "namespace": plan.namespace,
            "labels": labels,
            "annotations": {"fedcluster.io/hospital-name": entry.name},
        },
        "spec": {
            "replicas": 1,
            # Never two SuperNodes with the same key at once.
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {
                    "labels": labels,
                    "annotations": {
                        "fedcluster.io/hospital-name": entry.name,
                        "fedcluster.io/cluster-id": settings.cluster_id,
                    },
                },
                "spec": spec,
            },
        },
    }


def hospital_side_policy(entry: ClusterHospital) -> Manifest:
    """Egress to DNS and the Fleet port only; no ingress at all (no namespace:
    the hospital applies it in its twin namespace with `-n`)."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": f"{entry.deployment}-only-fleet",
            "labels": supernode_labels(entry),
        },
        "spec": {
            "podSelector": {"matchLabels": supernode_labels(entry)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [],
            "egress": [
                {
                    "ports": [
                        {"protocol": "UDP", "port": 53},
                        {"protocol": "TCP", "port": 53},
                    ]
                },
                {"ports": [{"protocol": "TCP", "port": names.FLEET_PORT}]},
            ],
        },
    }


def _supernode_container(plan: ClusterPlan, entry: ClusterHospital) -> Manifest:
    images = plan.settings.images
    return {
        "name": "supernode",
        **image_fields(images.supernode, images.pull_policy),
        # Flower's SuperNode through fedcluster's launcher (the same
        # arguments; it polls every 0.25 s instead of sleeping 3 s).
        "command": ["fedcluster-supernode"],
        "args": [
            # The Fleet Service, as Liqo reflects it into the twin namespace.
            "--superlink",
            f"{names.FLEET_SERVICE}:{names.FLEET_PORT}",
            "--root-certificates",
            f"{names.CA_DIR}/ca.crt",
            "--auth-supernode-private-key",
            f"{names.NODE_KEY_DIR}/{names.NODE_KEY_FILE}",
            "--node-config",
            node_config(entry),
            "--isolation",
            "process",
            "--host",
            "127.0.0.1",
            "--port",
            str(names.SUPERNODE_RUNTIME_PORT),
            "--health-server-address",
            f"0.0.0.0:{names.HEALTH_PORT}",
        ],
        "env": flower_env(),
        "ports": [{"name": "health", "containerPort": names.HEALTH_PORT}],
        **grpc_probes(names.HEALTH_PORT),
        "resources": resources(plan.settings.resources.supernode),
        "securityContext": container_security(),
        "volumeMounts": [
            {"name": "node-key", "mountPath": names.NODE_KEY_DIR, "readOnly": True},
            {"name": "federation-ca", "mountPath": names.CA_DIR, "readOnly": True},
            *scratch_mounts(),
        ],
    }


def _clientapp_container(plan: ClusterPlan) -> Manifest:
    images = plan.settings.images
    return {
        "name": "clientapp",
        **image_fields(images.supernode, images.pull_policy),
        # Flower's SuperExec through fedcluster's launcher: each ClientApp is
        # forked with flwr and torch already imported instead of started cold.
        "command": ["fedcluster-superexec"],
        "args": [
            # The SuperNode's runtime API never leaves the pod's loopback.
            "--runtime-api-address",
            f"127.0.0.1:{names.SUPERNODE_RUNTIME_PORT}",
            "--insecure",
            "--health-server-address",
            f"0.0.0.0:{names.SUPEREXEC_HEALTH_PORT}",
        ],
        "env": flower_env(),
        "ports": [
            {"name": "exec-health", "containerPort": names.SUPEREXEC_HEALTH_PORT}
        ],
        **grpc_probes(names.SUPEREXEC_HEALTH_PORT),
        "resources": resources(plan.settings.resources.clientapp),
        "securityContext": container_security(),
        "volumeMounts": [
            {"name": "data", "mountPath": names.DATA_DIR, "readOnly": True},
            *scratch_mounts(),
        ],
    }


def _volumes(entry: ClusterHospital) -> list[Manifest]:
    settings = entry.settings
    data: Manifest
    if settings.data_pvc:
        data = {
            "name": "data",
            "persistentVolumeClaim": {"claimName": settings.data_pvc, "readOnly": True},
        }
    else:
        data = {
            "name": "data",
            "hostPath": {"path": settings.data_host_path, "type": "Directory"},
        }
    return [
        {
            "name": "node-key",
            "secret": {
                "secretName": entry.key_secret,
                "defaultMode": 0o440,
                "items": [{"key": names.NODE_KEY_FILE, "path": names.NODE_KEY_FILE}],
            },
        },
        {"name": "federation-ca", "configMap": {"name": names.CA_CONFIG}},
        data,
        *scratch_volumes(),
    ]

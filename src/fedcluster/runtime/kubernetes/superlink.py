"""The central side: the SuperLink pod, its storage and configuration.

One Deployment (one replica, Recreate, so two SuperLinks never open the same
database) runs three containers sharing the pod's network:

- `superlink`: `flower-superlink` with TLS, node authentication, its state in
  SQLite on a PersistentVolumeClaim, process isolation, and no dependency
  installation at run time; it listens on loopback only (see `gate`);
- `serverapp`: `flower-superexec` running ServerApps against the Runtime API
  on loopback; the federation file is mounted on the state volume, so its
  relative `runs_dir` and `state_dir` land there, persistent and writable;
- `gate`: the nginx that exposes the Fleet and Control routes on their ports.

The TLS Secret, the gate's configuration and the federation file are marked
`liqo.io/skip-reflection`, so Liqo never copies them to a hospital cluster;
the Fleet Service and the CA certificate are the only things hospitals need
and the only things reflected to them (see `services`). The pod is kept off
virtual nodes.
"""

from __future__ import annotations

import hashlib

from fedcluster.runtime.kubernetes import names
from fedcluster.runtime.kubernetes.gate import CONFIG_FILE, gate_config
from fedcluster.runtime.kubernetes.plan import ClusterPlan
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
from fedcluster.runtime.kubernetes.services import (
    control_ingress,
    control_service,
    fleet_service,
    hidden_metadata,
    superlink_labels,
)

# The gate runs as the nginx image's own unprivileged user.
GATE_USER = 101


def superlink_objects(plan: ClusterPlan, *, tls_digest: str) -> list[Manifest]:
    """Deployment, storage, Services and ConfigMaps of the central side.

    `tls_digest` identifies the current certificate, so that a renewed one
    rolls the pod; a changed federation file rolls it too (a file mounted by
    `subPath` is not refreshed in a running pod).
    """
    federation = plan.source.read_text(encoding="utf-8")
    digest = hashlib.sha256(federation.encode()).hexdigest()[:16]
    objects = [
        _state_claim(plan),
        _config_map(plan, names.GATE_CONFIG, {CONFIG_FILE: gate_config()}),
        _config_map(plan, names.FEDERATION_CONFIG, {"federation.toml": federation}),
        _deployment(plan, tls_digest=tls_digest, federation_digest=digest),
        fleet_service(plan),
        control_service(plan),
    ]
    if plan.settings.control.ingress_host:
        objects.append(control_ingress(plan))
    return objects


def ca_config_map(plan: ClusterPlan, ca_pem: str) -> Manifest:
    """The CA certificate SuperNodes trust; public, reflected to every hospital."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": names.CA_CONFIG,
            "namespace": plan.namespace,
            "labels": names.common_labels("trust"),
            # Reflected even where Liqo is set to reflect only what is allowed.
            "annotations": {names.ALLOW_REFLECTION: "true"},
        },
        "data": {"ca.crt": ca_pem},
    }


def _state_claim(plan: ClusterPlan) -> Manifest:
    storage = plan.settings.storage
    spec: Manifest = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": storage.size}},
    }
    if storage.storage_class:
        spec["storageClassName"] = storage.storage_class
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": hidden_metadata(plan, names.STATE_CLAIM, "superlink"),
        "spec": spec,
    }


def _config_map(plan: ClusterPlan, name: str, data: dict[str, str]) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": hidden_metadata(plan, name, "superlink"),
        "data": data,
    }


def _deployment(
    plan: ClusterPlan, *, tls_digest: str, federation_digest: str
) -> Manifest:
    labels = superlink_labels()
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": names.SUPERLINK,
            "namespace": plan.namespace,
            "labels": labels,
        },
        "spec": {
            "replicas": 1,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {
                    "labels": labels,
                    "annotations": {
                        "fedcluster.io/tls-sha256": tls_digest,
                        "fedcluster.io/federation-sha256": federation_digest,
                    },
                },
                "spec": {
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": pod_security(),
                    "affinity": _stay_central(),
                    "terminationGracePeriodSeconds": 30,
                    "containers": [
                        _superlink_container(plan),
                        _serverapp_container(plan),
                        _gate_container(plan),
                    ],
                    "volumes": _volumes(),
                },
            },
        },
    }


def _stay_central() -> Manifest:
    # Pods of an offloaded namespace may otherwise land on a virtual node, and
    # with them the SuperLink's key in a hospital's cluster.
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {
                                "key": names.LIQO_TYPE_LABEL,
                                "operator": "NotIn",
                                "values": [names.LIQO_VIRTUAL_NODE],
                            }
                        ]
                    }
                ]
            }
        }
    }


def _superlink_container(plan: ClusterPlan) -> Manifest:
    images = plan.settings.images
    tls = names.TLS_DIR
    return {
        "name": "superlink",
        **image_fields(images.superlink, images.pull_policy),
        "command": ["flower-superlink"],
        "args": [
            "--ssl-ca-certfile",
            f"{tls}/ca.crt",
            "--ssl-certfile",
            f"{tls}/tls.crt",
            "--ssl-keyfile",
            f"{tls}/tls.key",
            "--enable-supernode-auth",
            "--database",
            names.DATABASE,
            "--isolation",
            "process",
            "--disable-runtime-dependency-installation",
            "--host",
            "127.0.0.1",
            "--port",
            str(names.SUPERLINK_PORT),
            "--health-server-address",
            f"0.0.0.0:{names.HEALTH_PORT}",
        ],
        "env": flower_env(),
        "ports": [{"name": "health", "containerPort": names.HEALTH_PORT}],
        **grpc_probes(names.HEALTH_PORT),
        "resources": resources(plan.settings.resources.superlink),
        "securityContext": container_security(),
        "volumeMounts": [
            {"name": "state", "mountPath": names.STATE_DIR},
            {"name": "tls", "mountPath": names.TLS_DIR, "readOnly": True},
            *scratch_mounts(),
        ],
    }


def _serverapp_container(plan: ClusterPlan) -> Manifest:
    images = plan.settings.images
    return {
        "name": "serverapp",
        **image_fields(images.superlink, images.pull_policy),
        "command": ["flower-superexec"],
        "args": [
            "--runtime-api-address",
            f"127.0.0.1:{names.SUPERLINK_PORT}",
            "--root-certificates",
            f"{names.CA_DIR}/ca.crt",
            "--health-server-address",
            f"0.0.0.0:{names.SUPEREXEC_HEALTH_PORT}",
        ],
        "env": flower_env(),
        "ports": [
            {"name": "exec-health", "containerPort": names.SUPEREXEC_HEALTH_PORT}
        ],
        **grpc_probes(names.SUPEREXEC_HEALTH_PORT),
        "resources": resources(plan.settings.resources.serverapp),
        "securityContext": container_security(),
        "volumeMounts": [
            {"name": "state", "mountPath": names.STATE_DIR},
            # The ServerApp only needs to trust the SuperLink, not its key.
            {"name": "tls-ca", "mountPath": names.CA_DIR, "readOnly": True},
            {
                "name": "federation",
                "mountPath": names.FEDERATION_FILE,
                "subPath": "federation.toml",
                "readOnly": True,
            },
            *scratch_mounts(),
        ],
    }


def _gate_container(plan: ClusterPlan) -> Manifest:
    images = plan.settings.images
    health = {
        "httpGet": {
            "path": "/health",
            "port": names.FLEET_PORT,
            "scheme": "HTTPS",
        }
    }
    return {
        "name": "gate",
        **image_fields(images.gate, images.pull_policy),
        "ports": [
            {"name": "fleet", "containerPort": names.FLEET_PORT},
            {"name": "control", "containerPort": names.CONTROL_PORT},
        ],
        # Ready only when the SuperLink answers through the gate; alive as
        # long as the gate itself accepts connections.
        "readinessProbe": {**health, "periodSeconds": 10, "failureThreshold": 3},
        "livenessProbe": {
            "tcpSocket": {"port": names.FLEET_PORT},
            "periodSeconds": 20,
            "failureThreshold": 3,
        },
        "resources": resources(plan.settings.resources.gate),
        "securityContext": {**container_security(), "runAsUser": GATE_USER},
        "volumeMounts": [
            {"name": "gate-config", "mountPath": "/etc/nginx/conf.d", "readOnly": True},
            {"name": "tls", "mountPath": names.TLS_DIR, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }


def _volumes() -> list[Manifest]:
    return [
        {"name": "state", "persistentVolumeClaim": {"claimName": names.STATE_CLAIM}},
        {
            "name": "tls",
            "secret": {"secretName": names.TLS_SECRET, "defaultMode": 0o440},
        },
        {
            "name": "tls-ca",
            "secret": {
                "secretName": names.TLS_SECRET,
                "defaultMode": 0o444,
                "items": [{"key": "ca.crt", "path": "ca.crt"}],
            },
        },
        {"name": "gate-config", "configMap": {"name": names.GATE_CONFIG}},
        {"name": "federation", "configMap": {"name": names.FEDERATION_CONFIG}},
        *scratch_volumes(),
    ]

"""The central side: the SuperLink pod, its storage, Services and configuration.

One Deployment (one replica, Recreate, so two SuperLinks never open the same
database) runs three containers sharing the pod's network:

- `superlink`: `flower-superlink` with TLS, node authentication, its state in
  SQLite on a PersistentVolumeClaim, process isolation, and no dependency
  installation at run time; it listens on loopback only (see `gate`);
- `serverapp`: `flower-superexec` running ServerApps against the Runtime API
  on loopback, writing the run store to the same volume;
- `gate`: the nginx that exposes the Fleet and Control routes on their ports.

The TLS Secret, the gate's configuration and the federation file are marked
`liqo.io/skip-reflection`, so Liqo never copies them to a hospital cluster;
the Fleet Service and the CA certificate are the only things hospitals need
and the only things reflected to them. The pod is kept off virtual nodes.
"""

from __future__ import annotations

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

# The gate runs as the nginx image's own unprivileged user.
GATE_USER = 101


def superlink_objects(plan: ClusterPlan, *, tls_digest: str) -> list[Manifest]:
    """Deployment, storage, Services and ConfigMaps of the central side.

    `tls_digest` identifies the current certificate, so that a renewed one
    rolls the pod.
    """
    objects = [
        _state_claim(plan),
        _config_map(plan, names.GATE_CONFIG, {CONFIG_FILE: gate_config()}),
        _config_map(
            plan,
            names.FEDERATION_CONFIG,
            {"federation.toml": plan.source.read_text(encoding="utf-8")},
        ),
        _deployment(plan, tls_digest=tls_digest),
        _fleet_service(plan),
        _control_service(plan),
    ]
    if plan.settings.control.ingress_host:
        objects.append(_ingress(plan))
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


def superlink_labels() -> dict[str, str]:
    return names.common_labels("superlink")


def _hidden(plan: ClusterPlan, name: str, component: str) -> Manifest:
    """Metadata of an object that must stay in the central cluster."""
    return {
        "name": name,
        "namespace": plan.namespace,
        "labels": names.common_labels(component),
        "annotations": {names.SKIP_REFLECTION: "true"},
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
        "metadata": _hidden(plan, names.STATE_CLAIM, "superlink"),
        "spec": spec,
    }


def _config_map(plan: ClusterPlan, name: str, data: dict[str, str]) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _hidden(plan, name, "superlink"),
        "data": data,
    }


def _deployment(plan: ClusterPlan, *, tls_digest: str) -> Manifest:
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
                    "annotations": {"fedcluster.io/tls-sha256": tls_digest},
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
                "mountPath": names.FEDERATION_FILE.rsplit("/", 1)[0],
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


def _fleet_service(plan: ClusterPlan) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": names.FLEET_SERVICE,
            "namespace": plan.namespace,
            "labels": superlink_labels(),
            # Hospitals dial this Service from their own cluster.
            "annotations": {names.ALLOW_REFLECTION: "true"},
        },
        "spec": {
            "type": "ClusterIP",
            "selector": superlink_labels(),
            "ports": [
                {
                    "name": "fleet",
                    "port": names.FLEET_PORT,
                    "targetPort": "fleet",
                    "protocol": "TCP",
                }
            ],
        },
    }


def _control_service(plan: ClusterPlan) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _hidden(plan, names.CONTROL_SERVICE, "superlink"),
        "spec": {
            "type": "ClusterIP",
            "selector": superlink_labels(),
            "ports": [
                {
                    "name": "control",
                    "port": names.CONTROL_PORT,
                    "targetPort": "control",
                    "protocol": "TCP",
                }
            ],
        },
    }


def _ingress(plan: ClusterPlan) -> Manifest:
    control = plan.settings.control
    metadata = _hidden(plan, names.CONTROL_SERVICE, "superlink")
    # TLS passes through to the gate, so the `flwr` command line sees the
    # SuperLink's own certificate and verifies it against the federation CA.
    metadata["annotations"] |= {
        "nginx.ingress.kubernetes.io/ssl-passthrough": "true",
        "nginx.ingress.kubernetes.io/backend-protocol": "HTTPS",
    }
    spec: Manifest = {
        "tls": [{"hosts": [control.ingress_host]}],
        "rules": [
            {
                "host": control.ingress_host,
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": {
                                "service": {
                                    "name": names.CONTROL_SERVICE,
                                    "port": {"number": names.CONTROL_PORT},
                                }
                            },
                        }
                    ]
                },
            }
        ],
    }
    if control.ingress_class:
        spec["ingressClassName"] = control.ingress_class
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": metadata,
        "spec": spec,
    }

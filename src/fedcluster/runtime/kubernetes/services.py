"""How the SuperLink is reached: its two Services and the optional Ingress.

The Fleet Service (`superlink`, the gate's Fleet port) is the one object
hospitals need to dial the SuperLink, and Liqo reflects it into every
hospital's twin namespace, where SuperNodes find it by its short name. The
Control Service and the Ingress carry the Control API and are marked
`liqo.io/skip-reflection`: they never exist in a hospital cluster.
"""

from __future__ import annotations

from fedcluster.runtime.kubernetes import names
from fedcluster.runtime.kubernetes.plan import ClusterPlan
from fedcluster.runtime.kubernetes.pods import Manifest


def superlink_labels() -> dict[str, str]:
    return names.common_labels("superlink")


def hidden_metadata(plan: ClusterPlan, name: str, component: str) -> Manifest:
    """Metadata of an object that must stay in the central cluster."""
    return {
        "name": name,
        "namespace": plan.namespace,
        "labels": names.common_labels(component),
        "annotations": {names.SKIP_REFLECTION: "true"},
    }


def fleet_service(plan: ClusterPlan) -> Manifest:
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


def control_service(plan: ClusterPlan) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": hidden_metadata(plan, names.CONTROL_SERVICE, "superlink"),
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


def control_ingress(plan: ClusterPlan) -> Manifest:
    control = plan.settings.control
    metadata = hidden_metadata(plan, names.CONTROL_SERVICE, "superlink")
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

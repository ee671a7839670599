"""Object names, labels, ports and in-pod paths shared by every Kubernetes step.

Render writes these names, `up` waits for them, `status` looks them up and
`down` deletes them: keeping them in one place keeps the four in agreement.
"""

from __future__ import annotations

import hashlib
import re

# Objects in the central namespace.
SUPERLINK = "superlink"
FLEET_SERVICE = "superlink"
CONTROL_SERVICE = "superlink-control"
STATE_CLAIM = "superlink-state"
TLS_SECRET = "superlink-tls"
GATE_CONFIG = "superlink-gate"
FEDERATION_CONFIG = "federation-file"
CA_CONFIG = "federation-ca"
OFFLOADING = "offloading"

# Ports. The SuperLink serves its Fleet, Control and Runtime APIs on one HTTPS
# port, bound to the pod's loopback; the gate exposes only the Fleet routes on
# FLEET_PORT and only the Control routes on CONTROL_PORT.
SUPERLINK_PORT = 8000
FLEET_PORT = 9092
CONTROL_PORT = 9093
SUPERNODE_RUNTIME_PORT = 9094
HEALTH_PORT = 9098
SUPEREXEC_HEALTH_PORT = 9099

# Paths inside the containers.
STATE_DIR = "/var/lib/fedcluster"
DATABASE = f"{STATE_DIR}/state.db"
RUNS_DIR = f"{STATE_DIR}/runs"
# On the state volume, so that the file's relative `runs_dir = "runs"` and
# `state_dir` land on persistent, writable storage next to it.
FEDERATION_FILE = f"{STATE_DIR}/federation.toml"
TLS_DIR = "/etc/fedcluster/tls"
CA_DIR = "/etc/fedcluster/ca"
NODE_KEY_DIR = "/etc/fedcluster/node-key"
NODE_KEY_FILE = "supernode.key"
DATA_DIR = "/data"
FLWR_HOME = "/home/fedcluster/.flwr"

# The user the images run as (see docker/*.Dockerfile).
RUN_AS = 10001

# Labels and annotations.
NAME_LABEL = "app.kubernetes.io/name"
COMPONENT_LABEL = "app.kubernetes.io/component"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
HOSPITAL_LABEL = "fedcluster.io/hospital"
OPERATOR_LABEL = "fedcluster.io/operator"
MANAGED_BY = "fedcluster"
LIQO_CLUSTER_LABEL = "liqo.io/remote-cluster-id"
LIQO_TYPE_LABEL = "liqo.io/type"
LIQO_VIRTUAL_NODE = "virtual-node"
LIQO_TAINT = "virtual-node.liqo.io/not-allowed"
SKIP_REFLECTION = "liqo.io/skip-reflection"
ALLOW_REFLECTION = "liqo.io/allow-reflection"

_MAX_NAME = 63


def dns_label(text: str, *, prefix: str) -> str:
    """`prefix` + `text` as a DNS-1123 label, shortened with a hash if too long."""
    cleaned = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"
    name = f"{prefix}{cleaned}"
    if len(name) <= _MAX_NAME:
        return name
    digest = hashlib.sha256(text.encode()).hexdigest()[:6]
    return f"{name[: _MAX_NAME - 7].rstrip('-')}-{digest}"


def hospital_label_value(slug: str) -> str:
    """A hospital's slug as a label value (same rules as a DNS label)."""
    return dns_label(slug, prefix="")


def supernode_name(slug: str) -> str:
    """The Deployment (and pod name prefix) of one hospital's SuperNode."""
    return dns_label(slug, prefix="supernode-")


def key_secret_name(slug: str) -> str:
    """The Secret holding a hospital's private key, in the hospital's cluster only."""
    return dns_label(slug, prefix="supernode-key-")


def common_labels(component: str) -> dict[str, str]:
    return {
        NAME_LABEL: "fedcluster",
        COMPONENT_LABEL: component,
        MANAGED_BY_LABEL: MANAGED_BY,
    }

"""The federation file `fedcluster init --kubernetes` writes: three hospitals.

Every key of the `[kubernetes]` and `[hospital.kubernetes]` tables appears,
with its default or an example value and a comment saying what it does, so
the file doubles as their reference.
"""

from __future__ import annotations

import json

EXAMPLE_TOML = """\
# A fedcluster federation for clusters joined with Liqo. Every command takes
# it: fedcluster k8s render|preflight|up|status|down -f FILE, fedcluster run.
# Paths are relative to this file's folder.

name = "heart-k8s"
runtime = "kubernetes"
rounds = 20            # federated rounds
local_epochs = 1       # passes over its own rows each hospital makes per round
min_hospitals = 2      # a round needs at least this many hospitals' updates
seed = 0
round_timeout = 300    # seconds to wait for a round's replies before going on
quorum_deadline = 120  # seconds tolerated below min_hospitals before the run fails
runs_dir = "runs"      # where `fedcluster run` copies each finished run

[task]
name = "heart"
model = "logistic"     # logistic or mlp

[strategy]
name = "fedavg"

# ---------------------------------------------------------------------------
# The central cluster: where the SuperLink (the federation server) runs.
[kubernetes]
# context = "central"           # kubeconfig context; default: the current one
namespace = "fedcluster"        # created and offloaded to the hospitals below
liqo_namespace = "liqo"         # where Liqo is installed in the central cluster
# DefaultName gives each hospital's twin namespace a unique name;
# EnforceSameName uses "fedcluster" there too (may clash with theirs).
namespace_mapping = "DefaultName"
# Address ranges that may reach the SuperLink's Fleet API port; empty: any.
# Hospital traffic arrives through Liqo's tunnel with remapped addresses.
fleet_sources = []
wait_timeout = 600              # seconds `k8s up` waits for offloading and pods

[kubernetes.images]
# Built from docker/ in the fedcluster repository; push them to a registry
# every cluster can pull from (the hospitals pull the supernode image).
superlink = "fedcluster/superlink:0.1.0"
supernode = "fedcluster/supernode:0.1.0"
gate = "nginxinc/nginx-unprivileged:1.27-alpine"  # TLS gate before the SuperLink
pull_policy = "IfNotPresent"    # Always, IfNotPresent or Never

[kubernetes.storage]
size = "1Gi"                    # the SuperLink's state database and run store
# storage_class = "standard"    # default: the central cluster's default class

[kubernetes.control]
# The Control API (submitting runs, registering keys). Without an Ingress,
# commands open a kubectl port-forward and close it when they finish.
# ingress_host = "flower.example.org"   # TLS passed through to the SuperLink
# ingress_class = "nginx"
ingress_namespace = "ingress-nginx"     # the controller's namespace
local_port = 0                  # port-forward's local port; 0 picks a free one

# Requests (reserved) and limits per container; ServerApp and ClientApp
# train and aggregate with torch, the others only move messages.
[kubernetes.resources.superlink]
cpu = "250m"
memory = "512Mi"
cpu_limit = "1"
memory_limit = "1Gi"

[kubernetes.resources.serverapp]
cpu = "500m"
memory = "1Gi"
cpu_limit = "2"
memory_limit = "3Gi"

[kubernetes.resources.gate]
cpu = "50m"
memory = "64Mi"
cpu_limit = "500m"
memory_limit = "128Mi"

[kubernetes.resources.supernode]
cpu = "100m"
memory = "256Mi"
cpu_limit = "500m"
memory_limit = "512Mi"

[kubernetes.resources.clientapp]
cpu = "500m"
memory = "1Gi"
cpu_limit = "2"
memory_limit = "3Gi"

# ---------------------------------------------------------------------------
# One [[hospital]] per hospital. `data` is the local copy used by the
# simulation runtime; [hospital.kubernetes] says where the hospital's own
# cluster keeps the real file. The file never leaves that cluster.

[[hospital]]
name = "Cleveland"
data = "data/cleveland.csv"
[hospital.kubernetes]
# The hospital cluster's Liqo cluster id: `liqoctl info --get clusterid`
# run against that cluster (its virtual node here carries it as a label).
cluster_id = "cleveland"
# A folder on the hospital's nodes (every node the pod may run on)...
data_host_path = "/srv/fedcluster"
data_file = "cleveland.csv"     # the file inside it
# data_gid = 2000               # a group allowed to read the folder
# The public key the hospital handed over (fedcluster k8s hospital-key).
public_key = "keys/cleveland.pub"

[[hospital]]
name = "Hungary"
data = "data/hungary.csv"
[hospital.kubernetes]
cluster_id = "hungary"
# ...or an existing PersistentVolumeClaim in the hospital's twin namespace,
# bound to a volume with reclaim policy Retain.
data_pvc = "heart-data"
data_file = "hungary.csv"
# virtual_node = "hungary"      # its virtual node here; default: cluster_id
public_key = "keys/hungary.pub"

[[hospital]]
name = "VA Long Beach"
data = "data/va-long-beach.csv"
[hospital.kubernetes]
cluster_id = "va-long-beach"
data_pvc = "heart-data"
data_file = "tables/va-long-beach.csv"
public_key = "keys/va-long-beach.pub"
"""


def kubernetes_example(name: str = "heart-k8s") -> str:
    """`EXAMPLE_TOML` with the federation called `name`."""
    # A JSON string is a valid TOML basic string.
    return EXAMPLE_TOML.replace('name = "heart-k8s"', f"name = {json.dumps(name)}", 1)

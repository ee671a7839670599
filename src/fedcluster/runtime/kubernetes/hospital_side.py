"""The note each hospital's IT receives with `hospital-side/<hospital>/`.

It says, for that hospital only, what will run in its cluster, what it reads,
what the hospital does itself (its key, its network policy), and what the
central cluster and the other hospitals can and cannot see.
"""

from __future__ import annotations

from fedcluster.runtime.kubernetes import names
from fedcluster.runtime.kubernetes.plan import ClusterHospital, ClusterPlan


def hospital_readme(plan: ClusterPlan, entry: ClusterHospital) -> str:
    settings = entry.settings
    if settings.data_pvc:
        volume = (
            f"the PersistentVolumeClaim `{settings.data_pvc}` in the twin namespace "
            "(create it there, bound to a volume with reclaim policy Retain)"
        )
    else:
        volume = f"the folder `{settings.data_host_path}` on the node it runs on"
    groups = f"{names.RUN_AS}"
    if settings.data_gid:
        groups += f" and {settings.data_gid}"
    namespace = plan.namespace

    return f"""# {entry.name}: what runs in your cluster and what you do

The federation `{plan.federation.name}` runs one training client for
{entry.name} in your cluster (Liqo cluster id `{settings.cluster_id}`), in the
twin namespace Liqo creates for the central namespace `{namespace}`. Its name
is printed by `fedcluster k8s up`, or on the central cluster by:

    kubectl get namespaceoffloading offloading -n {namespace} \\
      -o jsonpath='{{.status.remoteNamespaceName}}'

## What it reads

The pod `{entry.deployment}-...` mounts {volume} read-only at `{names.DATA_DIR}`
and reads `{settings.data_file}` from it, as user {names.RUN_AS} with groups
{groups}. No row leaves the pod: only model weights, aggregate statistics and
metrics go to the federation server, over TLS.

## 1. Your key (the private half never leaves your cluster)

With a kubeconfig context for your own cluster:

    fedcluster k8s hospital-key --hospital "{entry.name}" \\
      --namespace TWIN_NAMESPACE --context YOUR_CONTEXT

This creates the Secret `{entry.key_secret}` in your cluster and writes the
public key to `{entry.label}.pub`. Send only that `.pub` file to the
federation's platform engineer. Until the Secret exists the pod waits.

## 2. Limit what the client may reach

Liqo does not copy NetworkPolicies, so apply this one yourself:

    kubectl --context YOUR_CONTEXT -n TWIN_NAMESPACE apply -f network-policy.yaml

It lets the client reach DNS and port {names.FLEET_PORT} (the federation
server's gate) and nothing else, and lets nothing connect to it.

## What your cluster receives, and what it does not

It receives your own client pod, the Service `{names.FLEET_SERVICE}` (the
federation server's training port) and the ConfigMap `{names.CA_CONFIG}` (the
federation's public CA certificate). It receives nothing about the other
hospitals: not their names, data locations, keys or pods. The server's private
key, the Control API and the federation file stay in the central cluster.

## Stopping

`fedcluster k8s down` removes the client and never touches your data or your
key. Removing the namespace offloading (`liqoctl unoffload namespace
{namespace}`) deletes the twin namespace, with your key Secret and any claim
in it; a volume with reclaim policy Retain keeps its data. Deleting the
client's pod in your own cluster is your kill switch: Liqo recreates it
unless the central side is also stopped, so to refuse the federation for good,
delete your key Secret.
"""

"""NetworkPolicies of the central namespace.

- Nothing may connect to a pod of the namespace unless a rule below allows it.
- The gate's Fleet port takes connections from hospitals. Their traffic arrives
  through Liqo's tunnel with remapped source addresses that the central
  cluster's network plugin cannot tie to pods, so the port is open to any
  source unless `[kubernetes] fleet_sources` lists ranges; TLS and Flower's
  node authentication guard it.
- The gate's Control port takes connections only from pods of this namespace
  labelled `fedcluster.io/operator: "true"` and from the ingress controller's
  namespace when an Ingress is configured. `kubectl port-forward` enters the
  pod directly and is governed by the cluster's RBAC instead.
- The SuperLink pod may open no connection except DNS lookups: its three
  processes talk over the pod's loopback.

The Runtime API has no port at all outside the pod (see `gate`).
"""

from __future__ import annotations

from fedcluster.runtime.kubernetes import names
from fedcluster.runtime.kubernetes.plan import ClusterPlan
from fedcluster.runtime.kubernetes.pods import Manifest
from fedcluster.runtime.kubernetes.services import superlink_labels


def network_policies(plan: ClusterPlan) -> list[Manifest]:
    return [
        _policy(
            plan,
            "default-deny-ingress",
            selector={},
            spec={"policyTypes": ["Ingress"], "ingress": []},
        ),
        _policy(
            plan,
            "superlink-fleet",
            selector=superlink_labels(),
            spec={
                "policyTypes": ["Ingress"],
                "ingress": [_fleet_rule(plan)],
            },
        ),
        _policy(
            plan,
            "superlink-control",
            selector=superlink_labels(),
            spec={
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": _control_sources(plan),
                        "ports": [{"protocol": "TCP", "port": names.CONTROL_PORT}],
                    }
                ],
            },
        ),
        _policy(
            plan,
            "superlink-egress-dns-only",
            selector=superlink_labels(),
            spec={
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "ports": [
                            {"protocol": "UDP", "port": 53},
                            {"protocol": "TCP", "port": 53},
                        ]
                    }
                ],
            },
        ),
    ]


def _policy(
    plan: ClusterPlan, name: str, *, selector: dict[str, str], spec: Manifest
) -> Manifest:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": name,
            "namespace": plan.namespace,
            "labels": names.common_labels("network-policy"),
        },
        "spec": {"podSelector": {"matchLabels": selector}, **spec},
    }


def _fleet_rule(plan: ClusterPlan) -> Manifest:
    rule: Manifest = {"ports": [{"protocol": "TCP", "port": names.FLEET_PORT}]}
    if plan.settings.fleet_sources:
        rule["from"] = [
            {"ipBlock": {"cidr": source}} for source in plan.settings.fleet_sources
        ]
    return rule


def _control_sources(plan: ClusterPlan) -> list[Manifest]:
    sources: list[Manifest] = [
        {"podSelector": {"matchLabels": {names.OPERATOR_LABEL: "true"}}}
    ]
    if plan.settings.control.ingress_host:
        sources.append(
            {
                "namespaceSelector": {
                    "matchLabels": {
                        "kubernetes.io/metadata.name": (
                            plan.settings.control.ingress_namespace
                        )
                    }
                }
            }
        )
    return sources

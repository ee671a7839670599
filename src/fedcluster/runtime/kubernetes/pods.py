"""Pieces every fedcluster pod shares: security contexts, resources, probes, env.

Every container runs as the images' unprivileged user with a read-only root
file system, no added capabilities and the runtime's default seccomp profile:
the Pod Security "restricted" profile, which hospital clusters may enforce.
"""

from __future__ import annotations

from typing import Any

from fedcluster.federation.kubernetes import ContainerResources
from fedcluster.runtime.kubernetes import names

Manifest = dict[str, Any]


def pod_security(*, extra_groups: list[int] | None = None) -> Manifest:
    """The pod-level security context; `extra_groups` may read hospital data."""
    context: Manifest = {
        "runAsNonRoot": True,
        "runAsUser": names.RUN_AS,
        "runAsGroup": names.RUN_AS,
        # Group-owns mounted Secrets and volumes so the user can read them.
        "fsGroup": names.RUN_AS,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    if extra_groups:
        context["supplementalGroups"] = list(extra_groups)
    return context


def container_security() -> Manifest:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }


def resources(settings: ContainerResources) -> Manifest:
    return {
        "requests": {"cpu": settings.cpu, "memory": settings.memory},
        "limits": {"cpu": settings.cpu_limit, "memory": settings.memory_limit},
    }


def grpc_probes(port: int, *, startup_seconds: int = 120) -> Manifest:
    """Startup, readiness and liveness probes on a Flower gRPC health port."""
    check = {"grpc": {"port": port}}
    return {
        "startupProbe": {
            **check,
            "periodSeconds": 5,
            "failureThreshold": max(1, startup_seconds // 5),
        },
        "readinessProbe": {**check, "periodSeconds": 10, "failureThreshold": 3},
        "livenessProbe": {**check, "periodSeconds": 20, "failureThreshold": 3},
    }


def flower_env() -> list[Manifest]:
    """Environment for Flower processes: no calls home, state in a scratch folder."""
    return [
        {"name": "FLWR_TELEMETRY_ENABLED", "value": "0"},
        # Flower otherwise asks its own servers for updates at start-up.
        {"name": "FLWR_DISABLE_UPDATE_CHECK", "value": "1"},
        {"name": "FLWR_HOME", "value": names.FLWR_HOME},
        {"name": "HOME", "value": "/home/fedcluster"},
        {"name": "HF_DATASETS_OFFLINE", "value": "1"},
        {"name": "PYTHONUNBUFFERED", "value": "1"},
    ]


def scratch_volumes() -> list[Manifest]:
    """Writable folders for a read-only root file system."""
    return [
        {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}},
        {"name": "flwr-home", "emptyDir": {"sizeLimit": "1Gi"}},
    ]


def scratch_mounts() -> list[Manifest]:
    return [
        {"name": "tmp", "mountPath": "/tmp"},
        {"name": "flwr-home", "mountPath": names.FLWR_HOME},
    ]


def image_fields(image: str, pull_policy: str) -> Manifest:
    return {"image": image, "imagePullPolicy": pull_policy}

"""What the rendered manifests promise: pinning, read-only data, key isolation,
probes, limits, non-root, and a SuperLink that exposes only what it must."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from k8s_helpers import example_text, kustomize, render_example, write_federation

from fedcluster.errors import FedclusterError
from fedcluster.runtime.kubernetes import names
from fedcluster.runtime.kubernetes.render import render

Obj = dict[str, Any]


def _by_kind(objects: list[Obj], kind: str) -> list[Obj]:
    return [item for item in objects if item["kind"] == kind]


def _supernodes(objects: list[Obj]) -> list[Obj]:
    return [
        item
        for item in _by_kind(objects, "Deployment")
        if item["metadata"]["name"].startswith("supernode-")
    ]


def _superlink(objects: list[Obj]) -> Obj:
    (deployment,) = [
        item
        for item in _by_kind(objects, "Deployment")
        if item["metadata"]["name"] == names.SUPERLINK
    ]
    return deployment


def _pod(deployment: Obj) -> Obj:
    pod: Obj = deployment["spec"]["template"]["spec"]
    return pod


def _reflected_to_hospitals(objects: list[Obj]) -> list[Obj]:
    """Objects Liqo copies into every selected hospital cluster."""
    reflected_kinds = {"Secret", "ConfigMap", "Service", "Ingress", "EndpointSlice"}
    return [
        item
        for item in objects
        if item["kind"] in reflected_kinds
        and item["metadata"].get("annotations", {}).get(names.SKIP_REFLECTION) != "true"
    ]


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Obj]]:
    folder = tmp_path_factory.mktemp("three")
    rendered = render_example(folder, 3)
    return rendered.folder, kustomize(rendered.folder)


@pytest.fixture(scope="module")
def twenty(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Obj]]:
    folder = tmp_path_factory.mktemp("twenty")
    rendered = render_example(folder, 20)
    return rendered.folder, kustomize(rendered.folder)


@pytest.mark.parametrize("case", ["three", "twenty"])
def test_each_hospital_runs_on_its_own_cluster_and_only_there(
    case: str, request: pytest.FixtureRequest
) -> None:
    # Prepare
    _, objects = request.getfixturevalue(case)

    # Act
    pinned = {}
    for deployment in _supernodes(objects):
        pod = _pod(deployment)
        cluster = deployment["spec"]["template"]["metadata"]["annotations"][
            "fedcluster.io/cluster-id"
        ]
        pinned[deployment["metadata"]["name"]] = pod["nodeSelector"]
        assert pod["nodeSelector"][names.LIQO_CLUSTER_LABEL] == cluster
        assert pod["nodeSelector"][names.LIQO_TYPE_LABEL] == "virtual-node"
        assert {
            "key": names.LIQO_TAINT,
            "operator": "Exists",
            "effect": "NoExecute",
        } in pod["tolerations"]
        assert deployment["spec"]["replicas"] == 1

    # Assert
    clusters = [s[names.LIQO_CLUSTER_LABEL] for s in pinned.values()]
    assert len(clusters) == len(set(clusters)) == (3 if case == "three" else 20)
    (offloading,) = _by_kind(objects, "NamespaceOffloading")
    (term,) = offloading["spec"]["clusterSelector"]["nodeSelectorTerms"]
    (expression,) = term["matchExpressions"]
    assert expression["key"] == names.LIQO_CLUSTER_LABEL
    assert expression["operator"] == "In"
    assert sorted(expression["values"]) == sorted(clusters)
    assert not _by_kind(objects, "StatefulSet")


def test_the_superlink_never_lands_on_a_hospital_cluster(
    three: tuple[Path, list[Obj]],
) -> None:
    # Prepare
    _, objects = three

    # Act
    affinity = _pod(_superlink(objects))["affinity"]["nodeAffinity"]
    terms = affinity["requiredDuringSchedulingIgnoredDuringExecution"]

    # Assert
    assert terms["nodeSelectorTerms"] == [
        {
            "matchExpressions": [
                {
                    "key": "liqo.io/type",
                    "operator": "NotIn",
                    "values": ["virtual-node"],
                }
            ]
        }
    ]


def test_hospital_data_is_mounted_read_only_and_only_where_training_runs(
    three: tuple[Path, list[Obj]],
) -> None:
    # Prepare
    _, objects = three

    for deployment in _supernodes(objects):
        pod = _pod(deployment)
        (data,) = [v for v in pod["volumes"] if v["name"] == "data"]
        containers = {c["name"]: c for c in pod["containers"]}

        # Act
        data_mounts = {
            name: [m for m in c.get("volumeMounts", []) if m["name"] == "data"]
            for name, c in containers.items()
        }
        args = containers["supernode"]["args"]
        node_config = args[args.index("--node-config") + 1]

        # Assert
        assert data_mounts["supernode"] == []
        assert data_mounts["clientapp"] == [
            {"name": "data", "mountPath": "/data", "readOnly": True}
        ]
        if "persistentVolumeClaim" in data:
            assert data["persistentVolumeClaim"]["readOnly"] is True
            # The claim exists only in the hospital cluster: bypass scheduling.
            assert pod["nodeName"] == pod["nodeSelector"][names.LIQO_CLUSTER_LABEL]
        else:
            assert data["hostPath"]["type"] == "Directory"
            assert "nodeName" not in pod
        hospital = deployment["metadata"]["annotations"]["fedcluster.io/hospital-name"]
        assert node_config.startswith(f'hospital="{hospital}" data-path="/data/')


def test_the_example_points_each_hospital_at_its_own_file(
    three: tuple[Path, list[Obj]],
) -> None:
    # Prepare
    _, objects = three

    # Act
    configs = {}
    for deployment in _supernodes(objects):
        args = _pod(deployment)["containers"][0]["args"]
        configs[deployment["metadata"]["name"]] = args[args.index("--node-config") + 1]

    # Assert
    assert configs == {
        "supernode-cleveland": 'hospital="Cleveland" data-path="/data/cleveland.csv"',
        "supernode-hungary": 'hospital="Hungary" data-path="/data/hungary.csv"',
        "supernode-va-long-beach": (
            'hospital="VA Long Beach" data-path="/data/tables/va-long-beach.csv"'
        ),
    }


@pytest.mark.parametrize("case", ["three", "twenty"])
def test_no_hospital_private_key_is_in_anything_another_hospital_can_see(
    case: str, request: pytest.FixtureRequest
) -> None:
    # Prepare
    folder, objects = request.getfixturevalue(case)
    supernodes = _supernodes(objects)
    reflected = _reflected_to_hospitals(objects)

    # Act: what each hospital's cluster receives is every reflected object
    # plus the pods pinned to it.
    received = {
        deployment["metadata"]["name"]: [*reflected, deployment]
        for deployment in supernodes
    }

    # Assert: no private key material anywhere a hospital can see...
    for objects_seen in received.values():
        assert "PRIVATE KEY" not in json.dumps(objects_seen)
    # ...no hospital key Secret exists centrally for Liqo to reflect...
    secrets = _by_kind(objects, "Secret")
    assert [s["metadata"]["name"] for s in secrets] == [names.TLS_SECRET]
    assert secrets[0]["metadata"]["annotations"][names.SKIP_REFLECTION] == "true"
    # ...each pod refers to its own hospital's key Secret and no other...
    key_secrets = []
    for deployment in supernodes:
        refs = [
            v["secret"]["secretName"]
            for v in _pod(deployment)["volumes"]
            if "secret" in v
        ]
        assert refs == ["supernode-key-" + deployment["metadata"]["name"][10:]]
        key_secrets += refs
    assert len(set(key_secrets)) == len(supernodes)
    # ...and the rendered folder holds no hospital's private key at all.
    for path in folder.rglob("*"):
        if path.is_file():
            assert "OPENSSH PRIVATE KEY" not in path.read_text(errors="replace")


def test_a_hospital_cluster_receives_nothing_that_names_another_hospital(
    three: tuple[Path, list[Obj]],
) -> None:
    # Prepare
    _, objects = three
    reflected = json.dumps(_reflected_to_hospitals(objects))

    # Act / Assert
    for word in (
        "Cleveland",
        "Hungary",
        "VA Long Beach",
        "va-long-beach",
        "heart-data",
    ):
        assert word not in reflected
    assert sorted(
        (o["kind"], o["metadata"]["name"]) for o in json.loads(reflected)
    ) == [
        ("ConfigMap", names.CA_CONFIG),
        ("Service", names.FLEET_SERVICE),
    ]


def test_every_container_has_probes_requests_limits_and_runs_unprivileged(
    three: tuple[Path, list[Obj]],
) -> None:
    # Prepare
    _, objects = three

    for deployment in _by_kind(objects, "Deployment"):
        pod = _pod(deployment)

        # Act / Assert
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            label = f"{deployment['metadata']['name']}/{container['name']}"
            assert "readinessProbe" in container, label
            assert "livenessProbe" in container, label
            assert set(container["resources"]["requests"]) == {"cpu", "memory"}, label
            assert set(container["resources"]["limits"]) == {"cpu", "memory"}, label
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, label
            assert security["readOnlyRootFilesystem"] is True, label
            assert security["capabilities"] == {"drop": ["ALL"]}, label
            assert security.get("runAsUser", 1) != 0, label


def test_the_superlink_runs_as_the_design_requires(
    three: tuple[Path, list[Obj]],
) -> None:
    # Prepare
    _, objects = three
    deployment = _superlink(objects)
    containers = {c["name"]: c for c in _pod(deployment)["containers"]}

    # Act
    superlink = containers["superlink"]["args"]
    serverapp = containers["serverapp"]["args"]

    # Assert
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert deployment["spec"]["replicas"] == 1
    for flag in (
        "--enable-supernode-auth",
        "--disable-runtime-dependency-installation",
        "--ssl-ca-certfile",
        "--ssl-certfile",
        "--ssl-keyfile",
    ):
        assert flag in superlink
    assert superlink[superlink.index("--isolation") + 1] == "process"
    assert superlink[superlink.index("--database") + 1] == names.DATABASE
    assert superlink[superlink.index("--host") + 1] == "127.0.0.1"
    assert containers["serverapp"]["command"] == ["flower-superexec"]
    assert "--insecure" not in serverapp
    (claim,) = _by_kind(objects, "PersistentVolumeClaim")
    assert claim["metadata"]["name"] == names.STATE_CLAIM


def test_hospitals_reach_only_the_fleet_port_and_the_control_port_stays_central(
    three: tuple[Path, list[Obj]],
) -> None:
    # Prepare
    _, objects = three
    services = {s["metadata"]["name"]: s for s in _by_kind(objects, "Service")}
    policies = {p["metadata"]["name"]: p for p in _by_kind(objects, "NetworkPolicy")}

    # Act
    fleet_ports = [p["port"] for p in services[names.FLEET_SERVICE]["spec"]["ports"]]
    control = services[names.CONTROL_SERVICE]
    open_ports = {
        port["port"]
        for policy in policies.values()
        for rule in policy["spec"].get("ingress", [])
        for port in rule.get("ports", [])
    }
    control_rule = policies["superlink-control"]["spec"]["ingress"][0]

    # Assert
    assert fleet_ports == [names.FLEET_PORT]
    assert control["metadata"]["annotations"][names.SKIP_REFLECTION] == "true"
    assert policies["default-deny-ingress"]["spec"]["podSelector"] == {
        "matchLabels": {}
    }
    assert open_ports == {names.FLEET_PORT, names.CONTROL_PORT}
    assert control_rule["from"] == [
        {"podSelector": {"matchLabels": {names.OPERATOR_LABEL: "true"}}}
    ]


def test_the_gate_exposes_fleet_and_control_routes_and_never_the_runtime_api(
    three: tuple[Path, list[Obj]],
) -> None:
    # Prepare
    _, objects = three
    (gate,) = [
        c
        for c in _by_kind(objects, "ConfigMap")
        if c["metadata"]["name"] == "superlink-gate"
    ]
    config = gate["data"]["gate.conf"]

    # Act
    servers = config.split("server {")[1:]

    # Assert
    assert "/v1/runtime" not in config
    assert "listen 9092 ssl;" in servers[0]
    assert "location /v1/fleet/" in servers[0]
    assert "/v1/control" not in servers[0]
    assert "listen 9093 ssl;" in servers[1]
    assert "location /v1/control/" in servers[1]
    assert "/v1/fleet" not in servers[1]
    assert "proxy_ssl_verify on;" in config


def test_rendering_again_drops_hospitals_removed_from_the_file(tmp_path: Path) -> None:
    # Prepare
    render_example(tmp_path, 20)
    federation = write_federation(tmp_path, example_text(3))

    # Act
    rendered = render(federation, tmp_path / "out")

    # Assert
    left = sorted(p.name for p in (rendered.folder / "supernodes").iterdir())
    assert left == ["cleveland.yaml", "hungary.yaml", "va-long-beach.yaml"]
    assert len(_supernodes(kustomize(rendered.folder))) == 3


def test_a_folder_fedcluster_did_not_write_is_left_alone(tmp_path: Path) -> None:
    # Prepare
    federation = write_federation(tmp_path, example_text(3))
    foreign = tmp_path / "manifests"
    foreign.mkdir()
    (foreign / "mine.yaml").write_text("keep: me\n")

    # Act
    with pytest.raises(FedclusterError) as refused:
        render(federation, foreign)

    # Assert
    assert "not rendered by fedcluster" in str(refused.value)
    assert (foreign / "mine.yaml").read_text() == "keep: me\n"


def test_the_superlink_key_in_the_folder_is_readable_by_its_owner_only(
    three: tuple[Path, list[Obj]],
) -> None:
    # Prepare
    folder, _ = three

    # Act
    mode = (folder / "tls" / "tls.key").stat().st_mode & 0o777

    # Assert
    assert mode == 0o600
    assert (folder / ".gitignore").read_text() == "tls/\n"


def test_flower_reads_the_node_config_as_the_hospital_and_its_file(
    three: tuple[Path, list[Obj]],
) -> None:
    # Prepare
    from flwr.common.config import parse_config_args

    _, objects = three
    (va,) = [
        d for d in _supernodes(objects) if "va-long-beach" in d["metadata"]["name"]
    ]
    args = _pod(va)["containers"][0]["args"]

    # Act
    config = parse_config_args([args[args.index("--node-config") + 1]])

    # Assert
    assert config == {
        "hospital": "VA Long Beach",
        "data-path": "/data/tables/va-long-beach.csv",
    }


def test_the_serverapp_reads_the_federation_file_from_the_state_volume(
    three: tuple[Path, list[Obj]],
) -> None:
    # Prepare
    _, objects = three
    containers = {c["name"]: c for c in _pod(_superlink(objects))["containers"]}

    # Act
    mounts = {m["name"]: m for m in containers["serverapp"]["volumeMounts"]}

    # Assert: relative runs_dir = "runs" then lands in the run store folder.
    assert mounts["state"]["mountPath"] == names.STATE_DIR
    assert mounts["federation"]["mountPath"] == f"{names.STATE_DIR}/federation.toml"
    assert mounts["federation"]["subPath"] == "federation.toml"
    assert f"{names.STATE_DIR}/runs" == names.RUNS_DIR
    annotations = _superlink(objects)["spec"]["template"]["metadata"]["annotations"]
    assert set(annotations) == {
        "fedcluster.io/tls-sha256",
        "fedcluster.io/federation-sha256",
    }


def test_every_hospital_command_is_a_script_the_hospital_image_installs(
    three: tuple[Path, list[Obj]],
) -> None:
    # Prepare: the image pip-installs this package with flwr; its scripts
    # are this project's own and Flower's console scripts.
    import tomllib
    from importlib import metadata

    project = tomllib.loads(
        (Path(__file__).parents[2] / "pyproject.toml").read_text(encoding="utf-8")
    )
    installed = set(project["project"]["scripts"]) | {
        entry.name for entry in metadata.distribution("flwr").entry_points
    }
    _, objects = three

    for deployment in _supernodes(objects):
        # Act
        commands = {c["name"]: c["command"] for c in _pod(deployment)["containers"]}

        # Assert
        assert commands == {
            "supernode": ["fedcluster-supernode"],
            "clientapp": ["fedcluster-superexec"],
        }
        assert {command[0] for command in commands.values()} <= installed

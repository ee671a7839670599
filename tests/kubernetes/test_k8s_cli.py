"""The `fedcluster k8s` commands as a user runs them: exit codes and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from k8s_helpers import FakeTools, example_text, kustomize


def _fedcluster(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fedcluster", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def test_preflight_on_an_unhealthy_peering_exits_1_naming_the_hospital(
    tmp_path: Path, fake_tools: FakeTools
) -> None:
    # Prepare
    (tmp_path / "federation.toml").write_text(example_text())
    fake_tools.answer(
        ["liqoctl", "info"], recorded="liqoctl-info-unhealthy-peering.txt"
    )
    fake_tools.answer(["kubectl", "get", "nodes"], recorded="nodes-virtual-ready.json")

    # Act
    done = _fedcluster("k8s", "preflight", "-f", "federation.toml", cwd=tmp_path)

    # Assert
    assert done.returncode == 1
    assert done.stderr.strip() == "error: not ready: Hungary (networking Unhealthy)"
    assert "Hungary" in done.stdout and "networking Unhealthy" in done.stdout


def test_preflight_on_a_notready_virtual_node_exits_1_naming_the_hospital(
    tmp_path: Path, fake_tools: FakeTools
) -> None:
    # Prepare
    (tmp_path / "federation.toml").write_text(example_text())
    fake_tools.answer(["liqoctl", "info"], recorded="liqoctl-info-healthy.json")
    fake_tools.answer(
        ["kubectl", "get", "nodes"], recorded="nodes-virtual-one-notready.json"
    )

    # Act
    done = _fedcluster("k8s", "preflight", "-f", "federation.toml", cwd=tmp_path)

    # Assert
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(
        "error: not ready: VA Long Beach (virtual node va-long-beach"
    )


def test_preflight_passes_when_every_hospital_is_ready(
    tmp_path: Path, fake_tools: FakeTools
) -> None:
    # Prepare
    (tmp_path / "federation.toml").write_text(example_text())
    fake_tools.answer(["liqoctl", "info"], recorded="liqoctl-info-healthy.json")
    fake_tools.answer(["kubectl", "get", "nodes"], recorded="nodes-virtual-ready.json")

    # Act
    done = _fedcluster("k8s", "preflight", "-f", "federation.toml", cwd=tmp_path)

    # Assert
    assert done.returncode == 0, done.stderr
    assert "all 3 hospitals ready" in done.stdout


def test_render_writes_a_folder_kubectl_can_build(tmp_path: Path) -> None:
    # Prepare
    (tmp_path / "federation.toml").write_text(example_text())

    # Act
    done = _fedcluster(
        "k8s", "render", "-f", "federation.toml", "-o", "k8s", cwd=tmp_path
    )

    # Assert
    assert done.returncode == 0, done.stderr
    objects = kustomize(tmp_path / "k8s")
    assert len([o for o in objects if o["kind"] == "Deployment"]) == 4


def test_a_wrong_kubernetes_key_exits_2_in_one_line(tmp_path: Path) -> None:
    # Prepare
    text = example_text().replace('cluster_id = "hungary"', 'cluster_id = "Hungary!"')
    (tmp_path / "federation.toml").write_text(text)

    # Act
    done = _fedcluster("k8s", "render", "-f", "federation.toml", cwd=tmp_path)

    # Assert
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert "key hospital[1].kubernetes.cluster_id (hospital 'Hungary')" in line


def test_status_json_without_flower_prints_one_document(
    tmp_path: Path, fake_tools: FakeTools
) -> None:
    # Prepare
    (tmp_path / "federation.toml").write_text(example_text())
    fake_tools.answer(["kubectl", "get", "pods"], recorded="pods-all-ready.json")
    fake_tools.answer(["kubectl", "get", "nodes"], recorded="nodes-virtual-ready.json")
    fake_tools.answer(["kubectl", "get", "events"], recorded="empty-list.json")
    fake_tools.answer(
        ["kubectl", "get", "namespaceoffloading"],
        recorded="namespaceoffloading-ready.json",
    )

    # Act
    done = _fedcluster(
        "k8s", "status", "-f", "federation.toml", "--json", "--no-flower", cwd=tmp_path
    )

    # Assert
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert sorted(document["hospitals"]) == ["Cleveland", "Hungary", "VA Long Beach"]
    assert all(h["ready"] for h in document["hospitals"].values())


def test_a_missing_kubectl_exits_6_with_the_fix(
    tmp_path: Path, fake_tools: FakeTools
) -> None:
    # Prepare: no answer is recorded, so the fake tool fails like a broken one.
    (tmp_path / "federation.toml").write_text(example_text())

    # Act
    done = _fedcluster("k8s", "down", "-f", "federation.toml", cwd=tmp_path)

    # Assert
    assert done.returncode == 6
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: `kubectl delete deployments,services,")


def test_status_shows_why_a_client_waits(tmp_path: Path, fake_tools: FakeTools) -> None:
    # Prepare
    (tmp_path / "federation.toml").write_text(example_text())
    fake_tools.answer(
        ["kubectl", "get", "pods"], recorded="pods-one-waiting-for-its-key.json"
    )
    fake_tools.answer(["kubectl", "get", "nodes"], recorded="nodes-virtual-ready.json")
    fake_tools.answer(
        ["kubectl", "get", "events"], recorded="events-key-secret-missing.json"
    )
    fake_tools.answer(
        ["kubectl", "get", "namespaceoffloading"],
        recorded="namespaceoffloading-ready.json",
    )

    # Act
    done = _fedcluster(
        "k8s", "status", "-f", "federation.toml", "--no-flower", cwd=tmp_path
    )

    # Assert
    assert done.returncode == 0, done.stderr
    assert "VA Long Beach: ContainerCreating: MountVolume.SetUp failed" in " ".join(
        done.stdout.split()
    )


def test_init_kubernetes_then_render_gives_schema_valid_manifests(
    tmp_path: Path,
) -> None:
    # Prepare
    import kubernetes_validate
    from test_k8s_schemas import KUBERNETES_VERSIONS

    # Act
    init = _fedcluster("init", "--kubernetes", "-o", "federation.toml", cwd=tmp_path)
    render = _fedcluster("k8s", "render", "-o", "k8s", cwd=tmp_path)

    # Assert
    assert init.returncode == 0, init.stderr
    assert render.returncode == 0, render.stderr
    objects = kustomize(tmp_path / "k8s")
    for version in KUBERNETES_VERSIONS:
        for item in objects:
            if item["kind"] != "NamespaceOffloading":
                kubernetes_validate.validate(item, version, strict=True)
    hospitals = [o for o in objects if o["metadata"]["name"].startswith("supernode-")]
    assert len(hospitals) == 3

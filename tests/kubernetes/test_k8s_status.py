"""`status` maps each hospital to its pod, virtual node, cluster and Flower node."""

from __future__ import annotations

import json
from pathlib import Path

from k8s_helpers import FakeTools, example_text, write_federation

from fedcluster.runtime.kubernetes.flower import flower_link, node_states, save_records
from fedcluster.runtime.kubernetes.plan import ClusterPlan, cluster_plan
from fedcluster.runtime.kubernetes.status import collect_status
from fedcluster.runtime.kubernetes.tools import Tools


def _plan(tmp_path: Path) -> ClusterPlan:
    return cluster_plan(write_federation(tmp_path, example_text()))


def _answers(
    fake_tools: FakeTools, *, pods: str, events: str = "empty-list.json"
) -> None:
    fake_tools.answer(["kubectl", "get", "pods"], recorded=pods)
    fake_tools.answer(["kubectl", "get", "nodes"], recorded="nodes-virtual-ready.json")
    fake_tools.answer(["kubectl", "get", "events"], recorded=events)
    fake_tools.answer(
        ["kubectl", "get", "namespaceoffloading"],
        recorded="namespaceoffloading-ready.json",
    )


def test_every_hospital_is_mapped_to_its_pod_node_cluster_and_flower_node(
    tmp_path: Path, fake_tools: FakeTools
) -> None:
    # Prepare
    plan = _plan(tmp_path)
    _answers(fake_tools, pods="pods-all-ready.json")
    save_records(
        plan,
        {
            "Cleveland": {"node_id": "5021866434590874716", "key": "a"},
            "Hungary": {"node_id": "7310223904485127903", "key": "b"},
        },
    )
    fake_tools.answer(
        ["flwr", "supernode", "list"], recorded="flwr-supernode-list.json"
    )
    link = flower_link(plan, "127.0.0.1:40123", tmp_path / "ca.pem")

    # Act
    flower = node_states(plan, Tools(), link)
    status = collect_status(plan, Tools(), flower_nodes=flower)
    document = status.to_json()

    # Assert
    assert document["offloading"] == {
        "phase": "Ready",
        "remote_namespace": "fedcluster-central",
    }
    assert document["superlink"]["pod"] == "superlink-7c9d8f6b5-qx2lm"
    assert document["superlink"]["ready"] is True
    assert document["hospitals"]["Cleveland"] == {
        "cluster_id": "cleveland",
        "pod": "supernode-cleveland-5f7d9c8b6-abcde",
        "phase": "Running",
        "ready": True,
        "node": "cleveland",
        "on_own_cluster": True,
        "flower": "online",
        "detail": "",
    }
    assert document["hospitals"]["Hungary"]["flower"] == "registered"
    assert document["hospitals"]["VA Long Beach"]["flower"] == "not registered"
    json.dumps(document)


def test_a_pod_on_another_hospitals_node_is_not_counted_ready(
    tmp_path: Path, fake_tools: FakeTools
) -> None:
    # Prepare
    plan = _plan(tmp_path)
    _answers(fake_tools, pods="pods-one-on-the-wrong-cluster.json")

    # Act
    status = collect_status(plan, Tools())

    # Assert
    hungary = status.hospitals[1]
    assert (hungary.node, hungary.on_own_cluster, hungary.ready) == (
        "cleveland",
        False,
        False,
    )
    assert hungary.detail.startswith(
        "running on cleveland, which is not cluster hungary"
    )


def test_a_waiting_client_shows_the_latest_warning_reflected_from_its_cluster(
    tmp_path: Path, fake_tools: FakeTools
) -> None:
    # Prepare
    plan = _plan(tmp_path)
    _answers(
        fake_tools,
        pods="pods-one-waiting-for-its-key.json",
        events="events-key-secret-missing.json",
    )

    # Act
    status = collect_status(plan, Tools())

    # Assert
    va = status.hospitals[2]
    assert (va.phase, va.ready) == ("Pending", False)
    assert va.detail == (
        'ContainerCreating: MountVolume.SetUp failed for volume "node-key" : '
        'secret "supernode-key-va-long-beach" not found'
    )


def test_a_hospital_without_a_pod_says_what_to_run(
    tmp_path: Path, fake_tools: FakeTools
) -> None:
    # Prepare
    plan = _plan(tmp_path)
    _answers(fake_tools, pods="empty-list.json")

    # Act
    status = collect_status(plan, Tools())

    # Assert
    assert status.superlink is None
    assert {h.detail for h in status.hospitals} == {"no pod; run `fedcluster k8s up`"}

"""`up` applies in the right order and waits for the right things; `down`
removes only fedcluster's own central objects and never hospital data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from k8s_helpers import FakeTools, example_text, write_federation

from fedcluster.runtime.kubernetes.deploy import down, up
from fedcluster.runtime.kubernetes.plan import ClusterPlan, cluster_plan
from fedcluster.runtime.kubernetes.preflight import NotReadyError
from fedcluster.runtime.kubernetes.tools import Tools
from fedcluster.security.node_keys import new_node_key, public_openssh

HOSPITAL_KEYS = {"cleveland": "Cleveland", "hungary": "Hungary"}


def _plan(
    tmp_path: Path,
    *,
    wait_timeout: int = 600,
    keys: tuple[str, ...] = tuple(HOSPITAL_KEYS),
) -> ClusterPlan:
    text = example_text().replace(
        "wait_timeout = 600", f"wait_timeout = {wait_timeout}"
    )
    plan = cluster_plan(write_federation(tmp_path, text))
    # By default two hospitals handed over their public keys, VA Long Beach not.
    (tmp_path / "keys").mkdir()
    for label in keys:
        key = new_node_key()
        (tmp_path / "keys" / f"{label}.pub").write_bytes(public_openssh(key, label))
    return plan


def _cluster_answers(
    fake_tools: FakeTools, *, pods: str = "pods-all-ready.json"
) -> None:
    fake_tools.answer(["liqoctl", "info"], recorded="liqoctl-info-healthy.json")
    fake_tools.answer(["kubectl", "get", "nodes"], recorded="nodes-virtual-ready.json")
    fake_tools.answer(["kubectl", "apply"], stdout="serverside-applied\n")
    fake_tools.answer(
        ["kubectl", "get", "namespaceoffloading"],
        recorded="namespaceoffloading-ready.json",
    )
    fake_tools.answer(["kubectl", "rollout", "status"], stdout="rolled out\n")
    fake_tools.answer(
        ["kubectl", "port-forward"],
        stdout="Forwarding from 127.0.0.1:40123 -> 9093\n",
        linger=30,
    )
    fake_tools.answer(["kubectl", "get", "pods"], recorded=pods)
    fake_tools.answer(["kubectl", "get", "events"], recorded="empty-list.json")
    fake_tools.answer(
        ["flwr", "supernode", "list"], recorded="flwr-supernode-list-empty.json"
    )
    for number, label in enumerate([*HOSPITAL_KEYS, "va-long-beach"], start=1):
        fake_tools.answer(
            ["flwr", "supernode", "register", label],
            stdout=json.dumps({"success": True, "node-id": str(1000 + number)}),
        )


def test_up_offloads_first_then_applies_everything_server_side_and_registers_keys(
    tmp_path: Path, fake_tools: FakeTools
) -> None:
    # Prepare
    plan = _plan(tmp_path)
    _cluster_answers(fake_tools)
    said: list[str] = []

    # Act
    result = up(plan, Tools(), say=said.append, poll_seconds=0.01)

    # Assert: the order in which the cluster was asked.
    steps = [
        " ".join(call[:3])
        for call in fake_tools.calls
        if call[0] == "kubectl"
        and call[1] in ("apply", "get", "rollout", "port-forward")
    ]
    first_apply = steps.index("kubectl apply --server-side")
    assert steps[first_apply + 1] == "kubectl get namespaceoffloading"
    (offloading_apply, full_apply) = fake_tools.called("kubectl", "apply")
    assert "offloading.yaml" in offloading_apply[-1]
    assert "-k" in full_apply
    for call in (offloading_apply, full_apply):
        assert "--server-side" in call and "--field-manager=fedcluster" in call

    # Registered the two hospitals with keys, told the user about the third.
    registered = fake_tools.called("flwr", "supernode", "register")
    assert [call[call.index("--name") + 1] for call in registered] == [
        "cleveland",
        "hungary",
    ]
    assert result.missing_keys == ("VA Long Beach",)
    assert any("VA Long Beach: no public key yet" in line for line in said)
    assert said[-1] == (
        "2 of 3 hospital clients Ready on their own virtual nodes; "
        "waiting for the keys of VA Long Beach"
    )
    assert result.remote_namespace == "fedcluster-central"

    # The flwr connection lives in fedcluster's own Flower home.
    config = (tmp_path / ".fedcluster/kubernetes/flwr-home/config.toml").read_text()
    assert 'address = "127.0.0.1:40123"' in config
    records = json.loads((tmp_path / ".fedcluster/kubernetes/nodes.json").read_text())
    assert {name: r["node_id"] for name, r in records.items()} == {
        "Cleveland": "1001",
        "Hungary": "1002",
    }


def test_up_again_keeps_registered_keys(tmp_path: Path, fake_tools: FakeTools) -> None:
    # Prepare: a first up registered two hospitals; both are online now.
    plan = _plan(tmp_path)
    _cluster_answers(fake_tools)
    up(plan, Tools(), say=lambda _: None, poll_seconds=0.01)
    listing = {
        "success": True,
        "nodes": [
            {"node-id": "1001", "status": "online"},
            {"node-id": "1002", "status": "online"},
        ],
    }
    fake_tools.answer(
        ["flwr", "supernode", "list", "--format"], stdout=json.dumps(listing)
    )
    answers = json.loads((fake_tools.folder / "answers.json").read_text())
    answers.insert(0, answers.pop())  # the new listing answers first
    (fake_tools.folder / "answers.json").write_text(json.dumps(answers))
    before = len(fake_tools.called("flwr", "supernode", "register"))

    # Act
    result = up(plan, Tools(), say=lambda _: None, poll_seconds=0.01)

    # Assert
    assert [r.action for r in result.registrations] == ["kept", "kept"]
    assert len(fake_tools.called("flwr", "supernode", "register")) == before


def test_up_names_the_hospital_whose_client_never_gets_ready(
    tmp_path: Path, fake_tools: FakeTools
) -> None:
    # Prepare
    # Every hospital sent a public key, but VA Long Beach's Secret is missing
    # in its own cluster, so its client never starts.
    plan = _plan(tmp_path, wait_timeout=1, keys=(*HOSPITAL_KEYS, "va-long-beach"))
    _cluster_answers(fake_tools, pods="pods-one-waiting-for-its-key.json")
    answers = json.loads((fake_tools.folder / "answers.json").read_text())
    for answer in answers:
        if answer["when"] == ["kubectl", "get", "events"]:
            answer["file"] = answer["file"].replace(
                "empty-list.json", "events-key-secret-missing.json"
            )
    (fake_tools.folder / "answers.json").write_text(json.dumps(answers))

    # Act
    with pytest.raises(NotReadyError) as refused:
        up(plan, Tools(), say=lambda _: None, poll_seconds=0.05)

    # Assert
    message = str(refused.value)
    assert "\n" not in message
    assert "VA Long Beach (ContainerCreating: MountVolume.SetUp failed" in message
    assert 'secret "supernode-key-va-long-beach" not found' in message
    assert "Cleveland" not in message and "Hungary (" not in message
    assert "hospital-key --namespace fedcluster-central" in message


def test_up_stops_before_deploying_when_preflight_fails(
    tmp_path: Path, fake_tools: FakeTools
) -> None:
    # Prepare
    plan = _plan(tmp_path)
    fake_tools.answer(
        ["liqoctl", "info"], recorded="liqoctl-info-unhealthy-peering.txt"
    )
    fake_tools.answer(["kubectl", "get", "nodes"], recorded="nodes-virtual-ready.json")

    # Act
    with pytest.raises(NotReadyError) as refused:
        up(plan, Tools(), say=lambda _: None)

    # Assert
    assert str(refused.value) == "not ready: Hungary (networking Unhealthy)"
    assert fake_tools.called("kubectl", "apply") == []


def test_down_removes_only_fedcluster_objects_of_the_central_namespace(
    tmp_path: Path, fake_tools: FakeTools
) -> None:
    # Prepare
    plan = _plan(tmp_path)
    fake_tools.answer(
        ["kubectl", "delete"],
        stdout='deployment.apps "superlink" deleted\nservice "superlink" deleted\n',
    )

    # Act
    removed = down(plan, Tools())

    # Assert
    (call,) = fake_tools.calls
    assert call[:2] == ["kubectl", "delete"]
    assert call[call.index("-n") + 1] == "fedcluster"
    assert call[call.index("-l") + 1] == "app.kubernetes.io/managed-by=fedcluster"
    kinds = call[2].split(",")
    for kept in ("namespaceoffloadings", "namespaces", "persistentvolumeclaims"):
        assert kept not in kinds
    words = " ".join(call)
    for hospital_owned in ("heart-data", "supernode-key", "/srv/fedcluster"):
        assert hospital_owned not in words
    assert removed == [
        'deployment.apps "superlink" deleted',
        'service "superlink" deleted',
    ]


def test_down_with_purge_also_deletes_the_superlink_state_and_its_records(
    tmp_path: Path, fake_tools: FakeTools
) -> None:
    # Prepare
    plan = _plan(tmp_path)
    records = tmp_path / ".fedcluster/kubernetes/nodes.json"
    records.parent.mkdir(parents=True)
    records.write_text('{"Cleveland": {"node_id": "1", "key": "x"}}')
    fake_tools.answer(["kubectl", "delete"], stdout="deleted\n")

    # Act
    down(plan, Tools(), purge_state=True)

    # Assert
    (_, purge) = fake_tools.calls
    assert purge[:4] == [
        "kubectl",
        "delete",
        "persistentvolumeclaim",
        "superlink-state",
    ]
    assert not records.exists()


def test_up_does_not_wait_for_a_hospital_that_has_not_sent_its_key(
    tmp_path: Path, fake_tools: FakeTools
) -> None:
    # Prepare: VA Long Beach has no key yet, so its client waits for it.
    plan = _plan(tmp_path, wait_timeout=30)
    _cluster_answers(fake_tools, pods="pods-one-waiting-for-its-key.json")
    said: list[str] = []

    # Act
    result = up(plan, Tools(), say=said.append, poll_seconds=0.01)

    # Assert
    assert result.missing_keys == ("VA Long Beach",)
    assert said[-1] == (
        "2 of 3 hospital clients Ready on their own virtual nodes; "
        "waiting for the keys of VA Long Beach"
    )

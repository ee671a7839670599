"""Preflight reads Liqo's JSON, not its exit code, and names every unready hospital."""

from __future__ import annotations

from pathlib import Path

import pytest
from k8s_helpers import FakeTools, example_text, write_federation

from fedcluster.runtime.kubernetes.plan import ClusterPlan, cluster_plan
from fedcluster.runtime.kubernetes.preflight import NotReadyError, run_preflight
from fedcluster.runtime.kubernetes.tools import Tools


def _plan(tmp_path: Path) -> ClusterPlan:
    return cluster_plan(write_federation(tmp_path, example_text()))


def _record(fake_tools: FakeTools, *, info: str, nodes: str) -> None:
    fake_tools.answer(["liqoctl", "info"], recorded=info)
    fake_tools.answer(["kubectl", "get", "nodes"], recorded=nodes)


def test_healthy_peerings_and_ready_nodes_make_every_hospital_ready(
    tmp_path: Path, fake_tools: FakeTools
) -> None:
    # Prepare
    _record(
        fake_tools, info="liqoctl-info-healthy.json", nodes="nodes-virtual-ready.json"
    )

    # Act
    result = run_preflight(_plan(tmp_path), Tools())

    # Assert
    assert result.ready
    result.raise_unless_ready()
    assert [(h.hospital, h.node, h.cpu) for h in result.hospitals] == [
        ("Cleveland", "cleveland", "7200m"),
        ("Hungary", "hungary", "7200m"),
        ("VA Long Beach", "va-long-beach", "7200m"),
    ]
    assert fake_tools.called("liqoctl", "info", "-o", "json")
    assert fake_tools.called(
        "kubectl", "get", "nodes", "-l", "liqo.io/type=virtual-node"
    )


def test_an_unhealthy_peering_is_caught_although_liqoctl_exits_zero(
    tmp_path: Path, fake_tools: FakeTools
) -> None:
    # Prepare: the recording starts with a warning line, then the JSON.
    _record(
        fake_tools,
        info="liqoctl-info-unhealthy-peering.txt",
        nodes="nodes-virtual-ready.json",
    )

    # Act
    result = run_preflight(_plan(tmp_path), Tools())
    with pytest.raises(NotReadyError) as refused:
        result.raise_unless_ready()

    # Assert
    assert str(refused.value) == "not ready: Hungary (networking Unhealthy)"
    assert refused.value.exit_code == 1
    hungary = result.hospitals[1]
    assert (hungary.peered, hungary.healthy, hungary.node_ready) == (True, False, True)


def test_a_notready_virtual_node_names_its_hospital(
    tmp_path: Path, fake_tools: FakeTools
) -> None:
    # Prepare
    _record(
        fake_tools,
        info="liqoctl-info-healthy.json",
        nodes="nodes-virtual-one-notready.json",
    )

    # Act
    result = run_preflight(_plan(tmp_path), Tools())
    with pytest.raises(NotReadyError) as refused:
        result.raise_unless_ready()

    # Assert
    assert "VA Long Beach (virtual node va-long-beach NotReady: Liqo: the remote" in (
        str(refused.value)
    )
    assert "Cleveland" not in str(refused.value)
    assert "Hungary" not in str(refused.value)


def test_a_hospital_that_is_not_peered_is_named_with_the_fix(
    tmp_path: Path, fake_tools: FakeTools
) -> None:
    # Prepare
    _record(
        fake_tools,
        info="liqoctl-info-missing-peer.json",
        nodes="nodes-virtual-ready.json",
    )

    # Act
    result = run_preflight(_plan(tmp_path), Tools())

    # Assert
    (unready,) = [h for h in result.hospitals if not h.ready]
    assert unready.hospital == "VA Long Beach"
    assert unready.problems[0] == (
        "cluster 'va-long-beach' is not peered; run `liqoctl peer` towards it"
    )


def test_too_little_capacity_and_a_renamed_node_are_reported(
    tmp_path: Path, fake_tools: FakeTools
) -> None:
    # Prepare: Cleveland lends half a CPU; Hungary's node has another name,
    # which matters because its data is a claim and the pod is bound by name.
    _record(
        fake_tools,
        info="liqoctl-info-healthy.json",
        nodes="nodes-virtual-small-and-renamed.json",
    )

    # Act
    result = run_preflight(_plan(tmp_path), Tools())

    # Assert
    problems = {h.hospital: h.problems for h in result.hospitals}
    assert problems["Cleveland"] == (
        "lends 500m CPU, the client requests 0.6",
        "lends 1Gi memory, the client requests 1280Mi",
    )
    assert problems["Hungary"][0].startswith("virtual node 'hungary' not found")
    assert "set virtual_node" in problems["Hungary"][0]
    assert problems["VA Long Beach"] == ()


def test_an_unhealthy_central_liqo_fails_and_an_old_one_warns(
    tmp_path: Path, fake_tools: FakeTools
) -> None:
    # Prepare
    _record(
        fake_tools,
        info="liqoctl-info-liqo-unhealthy-old.json",
        nodes="nodes-virtual-ready.json",
    )

    # Act
    result = run_preflight(_plan(tmp_path), Tools())

    # Assert
    assert not result.ready
    assert result.central_problems == (
        "Liqo is unhealthy: liqo-controller-manager-7d9f8c6b5-x2x9q not ready",
    )
    assert "older than v1.2.0" in result.warnings[0]


def test_a_missing_liqoctl_is_one_line_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Prepare
    from fedcluster.runtime.kubernetes.tools import ClusterError

    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))

    # Act
    with pytest.raises(ClusterError) as missing:
        run_preflight(_plan(tmp_path), Tools())

    # Assert
    assert str(missing.value).startswith("liqoctl not found on PATH; install liqoctl")

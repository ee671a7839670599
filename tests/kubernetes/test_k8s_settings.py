"""Mistakes in the Kubernetes tables are reported in one line naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from k8s_helpers import example_text, write_federation

from fedcluster.errors import FederationFileError
from fedcluster.runtime.kubernetes.plan import cluster_plan


def _problem(tmp_path: Path, text: str) -> str:
    with pytest.raises(FederationFileError) as error:
        cluster_plan(write_federation(tmp_path, text))
    message = str(error.value)
    assert "\n" not in message
    return message


def test_the_example_federation_is_valid_as_written(tmp_path: Path) -> None:
    # Act
    plan = cluster_plan(write_federation(tmp_path, example_text()))

    # Assert
    assert [entry.settings.cluster_id for entry in plan.hospitals] == [
        "cleveland",
        "hungary",
        "va-long-beach",
    ]
    assert plan.namespace == "fedcluster"


def test_a_hospital_without_a_kubernetes_table_is_named(tmp_path: Path) -> None:
    # Prepare
    start = example_text().index('[hospital.kubernetes]\ncluster_id = "hungary"')
    end = example_text().index("[[hospital]]", start)
    text = example_text()[:start] + example_text()[end:]

    # Act
    message = _problem(tmp_path, text)

    # Assert
    assert "key hospital[1].kubernetes (hospital 'Hungary'): missing" in message


def test_giving_both_a_claim_and_a_host_path_is_refused(tmp_path: Path) -> None:
    # Prepare
    text = example_text().replace(
        'data_pvc = "heart-data"\ndata_file = "hungary.csv"',
        'data_pvc = "heart-data"\ndata_host_path = "/srv"\ndata_file = "hungary.csv"',
    )

    # Act
    message = _problem(tmp_path, text)

    # Assert
    assert "key hospital[1].kubernetes (hospital 'Hungary')" in message
    assert "exactly one of data_pvc" in message


def test_a_cluster_id_that_is_no_label_value_is_named(tmp_path: Path) -> None:
    # Prepare
    text = example_text().replace('cluster_id = "hungary"', 'cluster_id = "Hungary!"')

    # Act
    message = _problem(tmp_path, text)

    # Assert
    assert "key hospital[1].kubernetes.cluster_id (hospital 'Hungary')" in message


def test_two_hospitals_on_one_cluster_are_refused(tmp_path: Path) -> None:
    # Prepare
    text = example_text().replace('cluster_id = "hungary"', 'cluster_id = "cleveland"')

    # Act
    message = _problem(tmp_path, text)

    # Assert
    assert "key hospital[1].kubernetes.cluster_id (hospital 'Hungary')" in message
    assert "already used by hospital 'Cleveland'" in message


def test_a_limit_below_its_request_is_named(tmp_path: Path) -> None:
    # Prepare
    text = example_text().replace(
        '[kubernetes.resources.clientapp]\ncpu = "500m"\nmemory = "1Gi"',
        '[kubernetes.resources.clientapp]\ncpu = "500m"\nmemory = "8Gi"',
    )

    # Act
    message = _problem(tmp_path, text)

    # Assert
    assert "key kubernetes.resources.clientapp" in message
    assert "memory_limit 3Gi is below the request 8Gi" in message


def test_a_data_file_outside_the_volume_is_refused(tmp_path: Path) -> None:
    # Prepare
    text = example_text().replace(
        'data_file = "cleveland.csv"', 'data_file = "../etc/passwd"'
    )

    # Act
    message = _problem(tmp_path, text)

    # Assert
    assert "key hospital[0].kubernetes.data_file (hospital 'Cleveland')" in message
    assert "without '..'" in message


def test_a_misspelt_kubernetes_key_is_refused(tmp_path: Path) -> None:
    # Prepare
    text = example_text().replace('namespace = "fedcluster"', 'namepsace = "x"')

    # Act
    message = _problem(tmp_path, text)

    # Assert
    assert "key kubernetes.namepsace" in message
    assert "remove it or check its spelling" in message

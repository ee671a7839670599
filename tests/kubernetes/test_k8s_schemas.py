"""Every rendered object is valid for the Kubernetes versions Liqo v1.x supports.

Built-in kinds are checked with `kubernetes-validate` in strict mode (unknown
fields refused) against the OpenAPI schemas of Kubernetes 1.29 to 1.34: Liqo
supports the three most recent Kubernetes releases at each of its releases,
and v1.0 to the latest v1.x span that range. `NamespaceOffloading` is a Liqo
custom resource, checked against `schemas/`, a JSON schema written from the
fields of Liqo's CRD.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
from k8s_helpers import SCHEMAS, kustomize, load_yaml_file, render_example

KUBERNETES_VERSIONS = ["1.29", "1.30", "1.31", "1.32", "1.33", "1.34"]


def _all_objects(out: Path) -> list[dict[str, Any]]:
    """What `kubectl apply -k` sends, plus what each hospital applies itself."""
    objects = kustomize(out)
    for policy in sorted(out.glob("hospital-side/*/network-policy.yaml")):
        objects += load_yaml_file(policy)
    return objects


def _offloading_schema() -> dict[str, Any]:
    path = SCHEMAS / "namespaceoffloading-offloading.liqo.io-v1beta1.json"
    schema: dict[str, Any] = json.loads(path.read_text())
    return schema


@pytest.mark.parametrize("hospitals", [3, 20])
def test_every_rendered_object_passes_the_kubernetes_schemas(
    tmp_path: Path, hospitals: int
) -> None:
    # Prepare
    rendered = render_example(tmp_path, hospitals)

    # Act
    objects = _all_objects(rendered.folder)
    problems = []
    for version in KUBERNETES_VERSIONS:
        for item in objects:
            if item["kind"] == "NamespaceOffloading":
                continue
            try:
                kubernetes_validate.validate(item, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                where = ".".join(str(part) for part in error.path)
                name = item["metadata"]["name"]
                problems.append(f"{version} {item['kind']}/{name} {where}: {error}")

    # Assert
    assert problems == []
    kinds = {item["kind"] for item in objects}
    assert {"Deployment", "Service", "Secret", "NetworkPolicy"} <= kinds
    deployments = [item for item in objects if item["kind"] == "Deployment"]
    assert len(deployments) == hospitals + 1


@pytest.mark.parametrize("hospitals", [3, 20])
def test_the_namespace_offloading_passes_the_liqo_crd_schema(
    tmp_path: Path, hospitals: int
) -> None:
    # Prepare
    rendered = render_example(tmp_path, hospitals)
    offloadings = [
        item
        for item in kustomize(rendered.folder)
        if item["kind"] == "NamespaceOffloading"
    ]

    # Act
    for item in offloadings:
        jsonschema.validate(item, _offloading_schema())

    # Assert
    assert [item["metadata"]["name"] for item in offloadings] == ["offloading"]


def test_the_crd_schema_refuses_what_liqo_would_refuse() -> None:
    # Prepare
    wrong = {
        "apiVersion": "offloading.liqo.io/v1beta1",
        "kind": "NamespaceOffloading",
        "metadata": {"name": "offloading", "namespace": "fedcluster"},
        "spec": {"podOffloadingStrategy": "Everywhere"},
    }

    # Act / Assert
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(wrong, _offloading_schema())


def test_an_ingress_for_the_control_api_is_schema_valid_too(tmp_path: Path) -> None:
    # Prepare
    from k8s_helpers import example_text, write_federation

    text = example_text().replace(
        '# ingress_host = "flower.example.org"', 'ingress_host = "flower.example.org"'
    )
    federation = write_federation(tmp_path, text)
    from fedcluster.runtime.kubernetes.render import render

    # Act
    rendered = render(federation, tmp_path / "out")
    objects = kustomize(rendered.folder)

    # Assert
    ingresses = [item for item in objects if item["kind"] == "Ingress"]
    assert len(ingresses) == 1
    for version in KUBERNETES_VERSIONS:
        kubernetes_validate.validate(ingresses[0], version, strict=True)

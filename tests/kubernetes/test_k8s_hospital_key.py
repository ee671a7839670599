"""A hospital's private key is made in memory and goes only to its own cluster."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from k8s_helpers import FakeTools, example_text, write_federation

from fedcluster.runtime.kubernetes.keys import create_hospital_key, hospital_identity
from fedcluster.runtime.kubernetes.plan import cluster_plan
from fedcluster.runtime.kubernetes.tools import ClusterError, Tools


def _secret_sent(fake_tools: FakeTools) -> dict[str, object]:
    piped = (fake_tools.folder / "stdin.log").read_text().split("\n---\n")[0]
    secret: dict[str, object] = json.loads(piped)
    return secret


def test_the_key_goes_to_the_hospital_cluster_and_only_the_public_half_to_disk(
    tmp_path: Path, fake_tools: FakeTools
) -> None:
    # Prepare
    hungary = hospital_identity("Hungary")
    fake_tools.answer(["get", "namespace"], stdout="namespace/fedcluster-central\n")
    fake_tools.answer(["get", "secret"], stdout="")
    fake_tools.answer(
        ["create", "-f", "-"], stdout="secret/supernode-key-hungary created\n"
    )
    public_out = tmp_path / "hungary.pub"

    # Act
    made = create_hospital_key(
        hungary,
        Tools("hungary-admin"),
        namespace="fedcluster-central",
        public_out=public_out,
    )

    # Assert: the Secret went to the hospital's own context, by `create`.
    (create,) = fake_tools.called("create")
    assert create[:3] == ["kubectl", "--context", "hungary-admin"]
    secret = _secret_sent(fake_tools)
    metadata = secret["metadata"]
    assert isinstance(metadata, dict)
    assert (metadata["name"], metadata["namespace"]) == (
        "supernode-key-hungary",
        "fedcluster-central",
    )
    # Not the label fedcluster's central `down` deletes by.
    assert metadata["labels"]["app.kubernetes.io/managed-by"] == "fedcluster-hospital"
    data = secret["data"]
    assert isinstance(data, dict)
    private = serialization.load_ssh_private_key(
        base64.b64decode(data["supernode.key"]), password=None
    )
    # The public key written matches the private key sent to the cluster...
    public = serialization.load_ssh_public_key(public_out.read_bytes())
    assert public == private.public_key()
    assert made.secret == "supernode-key-hungary" and not made.replaced
    # ...and no private key was written anywhere on this machine.
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.name != "stdin.log":
            assert b"PRIVATE KEY" not in path.read_bytes(), path


def test_an_existing_key_is_only_replaced_on_request(
    tmp_path: Path, fake_tools: FakeTools
) -> None:
    # Prepare
    fake_tools.answer(["get", "namespace"], stdout="namespace/fedcluster-central\n")
    fake_tools.answer(["get", "secret"], stdout="secret/supernode-key-cleveland\n")
    fake_tools.answer(["replace", "-f", "-"], stdout="secret replaced\n")
    entry = hospital_identity("Cleveland")

    # Act
    with pytest.raises(ClusterError) as refused:
        create_hospital_key(
            entry,
            Tools(),
            namespace="fedcluster-central",
            public_out=tmp_path / "c.pub",
        )
    made = create_hospital_key(
        entry,
        Tools(),
        namespace="fedcluster-central",
        public_out=tmp_path / "c.pub",
        force=True,
    )

    # Assert
    assert "already exists in fedcluster-central; pass --force" in str(refused.value)
    assert made.replaced
    assert fake_tools.called("create") == []


def test_a_namespace_that_liqo_has_not_created_yet_is_refused(
    tmp_path: Path, fake_tools: FakeTools
) -> None:
    # Prepare
    fake_tools.answer(["get", "namespace"], stdout="")

    # Act
    with pytest.raises(ClusterError) as refused:
        create_hospital_key(
            hospital_identity("Hungary"),
            Tools(),
            namespace="fedcluster-central",
            public_out=tmp_path / "h.pub",
        )

    # Assert
    assert str(refused.value).startswith(
        "namespace 'fedcluster-central' does not exist in this cluster"
    )
    assert not (tmp_path / "h.pub").exists()


def test_a_hospital_needs_only_its_name_to_get_the_names_the_manifests_use(
    tmp_path: Path,
) -> None:
    # Prepare
    plan = cluster_plan(write_federation(tmp_path, example_text()))

    # Act
    identities = [hospital_identity(entry.name) for entry in plan.hospitals]

    # Assert
    assert [(i.label, i.key_secret) for i in identities] == [
        (entry.label, entry.key_secret) for entry in plan.hospitals
    ]


def test_each_hospital_side_folder_names_no_other_hospital(tmp_path: Path) -> None:
    # Prepare
    from k8s_helpers import render_example

    rendered = render_example(tmp_path)
    everyone = {"Cleveland", "Hungary", "VA Long Beach", "cleveland", "hungary"}

    for folder in sorted((rendered.folder / "hospital-side").iterdir()):
        # Act
        text = " ".join(path.read_text() for path in folder.iterdir())

        # Assert
        own = {
            "cleveland": {"Cleveland", "cleveland"},
            "hungary": {"Hungary", "hungary"},
        }
        others = everyone - own.get(folder.name, {"VA Long Beach"})
        assert [name for name in others if name in text] == [], folder.name

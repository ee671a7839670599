"""`fedcluster k8s hospital-key`: a hospital makes its own key pair, in its cluster.

Run by the hospital's IT with a kubeconfig context for the hospital's own
cluster. The key pair is generated in memory; the private half goes straight
to `kubectl create` on stdin as the Secret the SuperNode pod mounts, in the
twin namespace Liqo created for the federation; it is never written to disk
and never sent to the central cluster. Only the public half is written, to a
`.pub` file the hospital hands to the platform engineer, who registers it.

Liqo never overwrites an object in a remote cluster that it did not create,
and the central namespace holds no Secret of that name, so nothing reflects
over it. Replacing the key (`--force`) invalidates the old one once the new
public key is registered.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from fedcluster.errors import FederationFileError
from fedcluster.federation.model import Hospital
from fedcluster.runtime.kubernetes import names
from fedcluster.runtime.kubernetes.tools import ClusterError, Tools
from fedcluster.security.files import write_public
from fedcluster.security.node_keys import new_node_key, private_openssh, public_openssh

# Not fedcluster's own label value: `k8s down` on the central side selects
# `app.kubernetes.io/managed-by=fedcluster` and must never match this Secret.
HOSPITAL_MANAGER = "fedcluster-hospital"


@dataclass(frozen=True)
class HospitalIdentity:
    """What a hospital needs to know about itself: no federation file needed,
    since that file names every other hospital too."""

    name: str
    label: str
    key_secret: str


def hospital_identity(name: str) -> HospitalIdentity:
    """The hospital called `name`, with the names the manifests give it."""
    try:
        slug = Hospital(name=name, data=Path("-")).slug
    except ValidationError as error:
        raise FederationFileError(
            f"hospital name {name!r} is not one a federation file accepts; "
            "use the name exactly as the platform engineer wrote it"
        ) from error
    return HospitalIdentity(
        name, names.hospital_label_value(slug), names.key_secret_name(slug)
    )


@dataclass(frozen=True)
class HospitalKey:
    secret: str
    namespace: str
    public_key: Path
    fingerprint: str
    replaced: bool


def create_hospital_key(
    entry: HospitalIdentity,
    hospital_tools: Tools,
    *,
    namespace: str,
    public_out: Path,
    force: bool = False,
) -> HospitalKey:
    """Create the hospital's key Secret in its cluster; write the public key."""
    secret = entry.key_secret
    exists = hospital_tools.kubectl(
        "get", "namespace", namespace, "--ignore-not-found", "-o", "name"
    ).strip()
    if not exists:
        raise ClusterError(
            f"namespace {namespace!r} does not exist in this cluster; use the twin "
            "namespace `fedcluster k8s up` printed, once offloading is Ready"
        )
    present = hospital_tools.kubectl(
        "get", "secret", secret, "-n", namespace, "--ignore-not-found", "-o", "name"
    ).strip()
    if present and not force:
        raise ClusterError(
            f"Secret {secret} already exists in {namespace}; pass --force to "
            "replace the key, then have the new public key registered"
        )

    key = new_node_key()
    manifest = _secret_manifest(entry, secret, namespace, private_openssh(key))
    # `create`/`replace` keep no copy of the content in an annotation, unlike
    # client-side `apply`.
    verb = "replace" if present else "create"
    hospital_tools.kubectl(verb, "-f", "-", stdin=json.dumps(manifest))

    public = public_openssh(key, f"fedcluster-{entry.label}")
    write_public(public_out, public)
    fingerprint = hashlib.sha256(public.split()[1]).hexdigest()
    return HospitalKey(secret, namespace, public_out, fingerprint, bool(present))


def _secret_manifest(
    entry: HospitalIdentity, secret: str, namespace: str, private_key: bytes
) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": secret,
            "namespace": namespace,
            "labels": {
                names.MANAGED_BY_LABEL: HOSPITAL_MANAGER,
                names.HOSPITAL_LABEL: entry.label,
            },
            "annotations": {"fedcluster.io/hospital-name": entry.name},
        },
        "data": {names.NODE_KEY_FILE: base64.b64encode(private_key).decode("ascii")},
    }

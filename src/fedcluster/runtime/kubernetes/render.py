"""`fedcluster k8s render`: a federation file to a folder `kubectl apply -k` takes.

    DIR/kustomization.yaml         lists the files below; builds the TLS Secret
    DIR/namespace.yaml             the namespace
    DIR/offloading.yaml            its NamespaceOffloading (the hospitals' clusters)
    DIR/trust.yaml                 the federation CA certificate (public)
    DIR/superlink.yaml             SuperLink Deployment, storage, Services, config
    DIR/network-policies.yaml      who may reach what in the central namespace
    DIR/supernodes/<hospital>.yaml one pinned Deployment per hospital
    DIR/tls/                       the SuperLink's certificate and key (0600)
    DIR/hospital-side/<hospital>/  what each hospital applies in its own cluster

Everything is plain YAML. The SuperLink's private key is the only secret in the
folder, in `tls/`, which `.gitignore` keeps out of version control. No
hospital's private key is ever part of it.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from fedcluster.errors import FedclusterError
from fedcluster.federation.model import Federation
from fedcluster.runtime.kubernetes import names
from fedcluster.runtime.kubernetes.certificates import ensure_cluster_certificates
from fedcluster.runtime.kubernetes.hospital_side import hospital_readme
from fedcluster.runtime.kubernetes.hospitals import (
    hospital_side_policy,
    supernode_deployment,
)
from fedcluster.runtime.kubernetes.offloading import namespace, namespace_offloading
from fedcluster.runtime.kubernetes.plan import ClusterPlan, cluster_plan
from fedcluster.runtime.kubernetes.pods import Manifest
from fedcluster.runtime.kubernetes.policies import network_policies
from fedcluster.runtime.kubernetes.superlink import ca_config_map, superlink_objects
from fedcluster.security.files import write_private, write_public

logger = logging.getLogger(__name__)

MARKER = "# Rendered by fedcluster"
KUSTOMIZATION = "kustomization.yaml"


class RenderError(FedclusterError):
    """The output folder cannot be written."""

    exit_code = 2


@dataclass(frozen=True)
class Rendered:
    """What `render` wrote."""

    folder: Path
    plan: ClusterPlan
    files: tuple[Path, ...]


def render(federation: Federation, folder: Path) -> Rendered:
    """Write the manifests for `federation` into `folder`."""
    plan = cluster_plan(federation)
    _prepare(folder)
    certificates = ensure_cluster_certificates(federation, plan.settings)
    ca_pem = certificates.ca_certificate.read_text(encoding="ascii")
    server_pem = certificates.server_certificate.read_text(encoding="ascii")
    digest = hashlib.sha256((ca_pem + server_pem).encode()).hexdigest()[:16]

    files: list[Path] = []

    def write(relative: str, objects: list[Manifest]) -> None:
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump_yaml(objects), encoding="utf-8")
        files.append(path)

    # The central cluster's objects, in the order they are applied.
    write("namespace.yaml", [namespace(plan)])
    write("offloading.yaml", [namespace_offloading(plan)])
    write("trust.yaml", [ca_config_map(plan, ca_pem)])
    write("superlink.yaml", superlink_objects(plan, tls_digest=digest))
    write("network-policies.yaml", network_policies(plan))
    for entry in plan.hospitals:
        write(f"supernodes/{entry.label}.yaml", [supernode_deployment(plan, entry)])

    # The SuperLink's key material, turned into a Secret by kustomize.
    tls = folder / "tls"
    tls.mkdir(mode=0o700, exist_ok=True)
    tls.chmod(0o700)
    write_public(tls / "ca.crt", ca_pem.encode())
    write_public(tls / "tls.crt", server_pem.encode())
    write_private(tls / "tls.key", certificates.server_key.read_bytes())
    (folder / ".gitignore").write_text("tls/\n", encoding="utf-8")

    resources = [str(path.relative_to(folder)) for path in files]
    kustomization = folder / KUSTOMIZATION
    kustomization.write_text(_kustomization(plan, resources), encoding="utf-8")
    files.append(kustomization)

    # Per hospital: what its IT applies in its own cluster, not part of -k.
    for entry in plan.hospitals:
        side = folder / "hospital-side" / entry.label
        side.mkdir(parents=True, exist_ok=True)
        policy = side / "network-policy.yaml"
        policy.write_text(dump_yaml([hospital_side_policy(entry)]), encoding="utf-8")
        readme = side / "README.md"
        readme.write_text(hospital_readme(plan, entry), encoding="utf-8")
        files += [policy, readme]

    logger.info(
        "rendered %d files for %d hospitals into %s",
        len(files),
        len(plan.hospitals),
        folder,
    )
    return Rendered(folder, plan, tuple(files))


def dump_yaml(objects: list[Manifest]) -> str:
    """YAML documents, multi-line strings as literal blocks, keys in given order."""
    return yaml.dump_all(
        objects,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=100,
    )


def _kustomization(plan: ClusterPlan, resources: list[str]) -> str:
    document: dict[str, Any] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": plan.namespace,
        "resources": resources,
        "secretGenerator": [
            {
                "name": names.TLS_SECRET,
                "type": "kubernetes.io/tls",
                "files": [
                    "tls.crt=tls/tls.crt",
                    "tls.key=tls/tls.key",
                    "ca.crt=tls/ca.crt",
                ],
                "options": {
                    "disableNameSuffixHash": True,
                    "labels": names.common_labels("superlink"),
                    # The SuperLink's private key stays in the central cluster.
                    "annotations": {names.SKIP_REFLECTION: "true"},
                },
            }
        ],
    }
    header = (
        f"{MARKER} from {plan.source.name}; edit the federation file and render "
        "again rather than editing here.\n"
    )
    return header + dump_yaml([document])


def _prepare(folder: Path) -> None:
    """Create `folder`, or clear a previous rendering of ours; never anything else."""
    if folder.exists() and not folder.is_dir():
        raise RenderError(f"{folder}: exists and is not a folder; choose another -o")
    if folder.exists() and any(folder.iterdir()):
        kustomization = folder / KUSTOMIZATION
        ours = kustomization.exists() and kustomization.read_text(
            encoding="utf-8"
        ).startswith(MARKER)
        if not ours:
            raise RenderError(
                f"{folder}: not empty and not rendered by fedcluster; "
                "choose an empty or new folder with -o"
            )
        # Hospitals removed from the file must not linger in the output.
        for stale in ("supernodes", "hospital-side"):
            shutil.rmtree(folder / stale, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)


class _Dumper(yaml.SafeDumper):
    """A SafeDumper writing multi-line strings as `|` blocks and no aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    if "\n" in text:
        return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", text)


_Dumper.add_representer(str, _represent_str)

"""The SuperLink's server certificate for the cluster, signed by the federation CA.

The CA is the federation's own (`<state_dir>/pki/ca.pem`, as `fedcluster
provision` writes it; created here when missing). The cluster certificate is
separate from the local runtime's because it answers to other names: the Fleet
Service as SuperNodes dial it from a hospital's twin namespace (`superlink`),
the Control Service, loopback inside the pod, and the Ingress host if any.

    <state_dir>/pki/kubernetes/superlink.pem   certificate
    <state_dir>/pki/kubernetes/superlink.key   private key (0600)

The certificate is reissued with the same key when its names change, when it
is not signed by the current CA, or when it is about to expire. The CA's
private key never leaves the state folder.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from fedcluster.federation.kubernetes import KubernetesSettings
from fedcluster.federation.model import Federation
from fedcluster.runtime.kubernetes import names
from fedcluster.security.certificates import (
    Issued,
    certificate_names,
    create_ca,
    days_left,
    is_signed_by,
    issue_server_certificate,
    key_to_pem,
    load_certificate,
    load_ec_key,
    to_pem,
)
from fedcluster.security.files import ensure_private_folder, write_private, write_public
from fedcluster.security.pki import PkiLayout

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClusterCertificates:
    """The files the central cluster's TLS Secret is made from."""

    ca_certificate: Path
    server_certificate: Path
    server_key: Path


def server_names(settings: KubernetesSettings) -> list[str]:
    """Every name a client may use to reach the SuperLink's gate."""
    namespace = settings.namespace
    found: list[str] = []
    for service in (names.FLEET_SERVICE, names.CONTROL_SERVICE):
        found += [
            service,
            f"{service}.{namespace}",
            f"{service}.{namespace}.svc",
            f"{service}.{namespace}.svc.cluster.local",
        ]
    found += ["localhost", "127.0.0.1"]
    if settings.control.ingress_host:
        found.append(settings.control.ingress_host)
    return list(dict.fromkeys(found))


def ensure_cluster_certificates(
    federation: Federation, settings: KubernetesSettings
) -> ClusterCertificates:
    """Create or refresh the cluster's server certificate; return its files."""
    layout = PkiLayout.of(federation)
    folder = layout.root / "kubernetes"
    ensure_private_folder(layout.root)
    ensure_private_folder(folder)
    certificate_path = folder / "superlink.pem"
    key_path = folder / "superlink.key"

    ca = _ensure_ca(federation, layout)
    wanted = server_names(settings)
    lifetime = federation.local.certificate_days
    renew_within = federation.local.expiry_warning_days

    if not key_path.exists():
        issued = issue_server_certificate(ca, wanted, days=lifetime)
        write_private(key_path, key_to_pem(issued.key))
        write_public(certificate_path, to_pem(issued.certificate))
        logger.info("created the cluster SuperLink certificate %s", certificate_path)
    else:
        key = load_ec_key(key_path)
        reason = _reissue_reason(
            certificate_path,
            ca=ca,
            wanted=wanted,
            renew_within=renew_within,
            key=key,
        )
        if reason:
            issued = issue_server_certificate(ca, wanted, days=lifetime, key=key)
            write_public(certificate_path, to_pem(issued.certificate))
            logger.info("reissued %s: %s", certificate_path, reason)

    return ClusterCertificates(layout.ca_certificate, certificate_path, key_path)


def _ensure_ca(federation: Federation, layout: PkiLayout) -> Issued:
    if layout.ca_key.exists() and layout.ca_certificate.exists():
        return Issued(
            load_ec_key(layout.ca_key), load_certificate(layout.ca_certificate)
        )
    ca = create_ca(federation.name, days=federation.local.ca_days)
    write_private(layout.ca_key, key_to_pem(ca.key))
    write_public(layout.ca_certificate, to_pem(ca.certificate))
    logger.info("created the federation CA %s", layout.ca_certificate)
    return ca


def _reissue_reason(
    certificate_path: Path,
    *,
    ca: Issued,
    wanted: list[str],
    renew_within: int,
    key: ec.EllipticCurvePrivateKey,
) -> str:
    if not certificate_path.exists():
        return "the certificate was missing"
    certificate = load_certificate(certificate_path)
    if certificate.public_key() != key.public_key():
        return "the certificate did not match its key"
    if not is_signed_by(certificate, ca.certificate):
        return "it was not signed by the current CA"
    if set(certificate_names(certificate)) != set(wanted):
        return "the names it must answer to changed"
    if days_left(certificate) < renew_within:
        return "it expires soon"
    return ""

"""The federation's key material in its state folder, and how it is provisioned.

`provision` writes what is missing and leaves everything else byte for byte:

    <state_dir>/pki/ca.pem                 CA certificate (every party trusts it)
    <state_dir>/pki/ca.key                 CA private key (0600)
    <state_dir>/pki/superlink.pem          SuperLink server certificate
    <state_dir>/pki/superlink.key          its private key (0600)
    <state_dir>/pki/hospitals/<slug>.key   a hospital's SuperNode key (0600)
    <state_dir>/pki/hospitals/<slug>.pub   its public half, to register

Certificates are renewed in place (same key) when they expire within
`[local] expiry_warning_days` or when the configured server names changed.
Private keys are only ever replaced with `force=True`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography.hazmat.primitives.asymmetric import ec

from fedcluster.federation.local import state_folder
from fedcluster.federation.model import Federation, Hospital
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
from fedcluster.security.files import (
    PRIVATE_MODE,
    ensure_private_folder,
    write_private,
    write_public,
)
from fedcluster.security.node_keys import (
    load_node_key,
    new_node_key,
    private_openssh,
    public_key_matches,
    public_openssh,
)

logger = logging.getLogger(__name__)

Action = Literal["created", "kept", "renewed", "replaced", "repaired"]


@dataclass(frozen=True)
class PkiLayout:
    """Where each piece of a federation's key material lives."""

    root: Path

    @classmethod
    def of(cls, federation: Federation) -> PkiLayout:
        return cls(state_folder(federation) / "pki")

    @property
    def ca_certificate(self) -> Path:
        return self.root / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.root / "ca.key"

    @property
    def server_certificate(self) -> Path:
        return self.root / "superlink.pem"

    @property
    def server_key(self) -> Path:
        return self.root / "superlink.key"

    def hospital_key(self, hospital: Hospital) -> Path:
        return self.root / "hospitals" / f"{hospital.slug}.key"

    def hospital_public_key(self, hospital: Hospital) -> Path:
        return self.root / "hospitals" / f"{hospital.slug}.pub"


@dataclass(frozen=True)
class Step:
    """What `provision` did to one file (or key pair)."""

    what: str
    path: Path
    action: Action
    reason: str = ""


@dataclass(frozen=True)
class CertificateStatus:
    """How long one certificate stays valid."""

    what: str
    path: Path
    expires: dt.datetime
    days_left: float


def provision(
    federation: Federation, *, force: bool = False, renew_within: int | None = None
) -> list[Step]:
    """Write the CA, the SuperLink certificate and every hospital's key pair.

    A certificate with fewer than `renew_within` days left (default: the
    federation's `expiry_warning_days`) is renewed with its existing key.
    """
    layout = PkiLayout.of(federation)
    ensure_private_folder(layout.root)
    ensure_private_folder(layout.root / "hospitals")
    settings = federation.local
    if renew_within is None:
        renew_within = settings.expiry_warning_days

    ca, ca_step = _ensure_ca(layout, federation, force=force, renew_within=renew_within)
    steps = [ca_step]
    steps.append(
        _ensure_server_certificate(
            layout,
            ca,
            names=list(settings.server_names),
            days=settings.certificate_days,
            renew_within=renew_within,
            force=force,
        )
    )
    steps.extend(
        _ensure_hospital_key(layout, h, force=force) for h in federation.hospitals
    )

    for step in steps:
        if step.action != "kept":
            logger.info("%s %s: %s %s", step.action, step.what, step.path, step.reason)
    return steps


def check_certificates(federation: Federation) -> list[CertificateStatus]:
    """Days left on the CA and the SuperLink certificate."""
    layout = PkiLayout.of(federation)
    statuses = []
    for what, path in (
        ("CA", layout.ca_certificate),
        ("SuperLink server certificate", layout.server_certificate),
    ):
        certificate = load_certificate(path)
        statuses.append(
            CertificateStatus(
                what=what,
                path=path,
                expires=certificate.not_valid_after_utc,
                days_left=days_left(certificate),
            )
        )
    return statuses


def _ensure_ca(
    layout: PkiLayout, federation: Federation, *, force: bool, renew_within: int
) -> tuple[Issued, Step]:
    settings = federation.local
    have_key = layout.ca_key.exists()
    have_certificate = layout.ca_certificate.exists()

    if force or not have_key:
        ca = create_ca(federation.name, days=settings.ca_days)
        action: Action = "replaced" if have_key or have_certificate else "created"
        _write_issued(ca, layout.ca_key, layout.ca_certificate)
        return ca, Step("CA", layout.ca_certificate, action)

    key = load_ec_key(layout.ca_key)
    reason = _renewal_reason(layout.ca_certificate, key, renew_within=renew_within)
    if reason:
        ca = create_ca(federation.name, days=settings.ca_days, key=key)
        _write_issued(ca, None, layout.ca_certificate)
        return ca, Step("CA", layout.ca_certificate, "renewed", reason)

    _tighten_mode(layout.ca_key)
    ca = Issued(key, load_certificate(layout.ca_certificate))
    return ca, Step("CA", layout.ca_certificate, "kept")


def _ensure_server_certificate(
    layout: PkiLayout,
    ca: Issued,
    *,
    names: list[str],
    days: int,
    renew_within: int,
    force: bool,
) -> Step:
    what = "SuperLink server certificate"
    have_key = layout.server_key.exists()
    if force or not have_key:
        issued = issue_server_certificate(ca, names, days=days)
        _write_issued(issued, layout.server_key, layout.server_certificate)
        action: Action = "replaced" if have_key else "created"
        return Step(what, layout.server_certificate, action)

    key = load_ec_key(layout.server_key)

    def other_problems(certificate_path: Path) -> str:
        certificate = load_certificate(certificate_path)
        if not is_signed_by(certificate, ca.certificate):
            return "(not signed by the current CA)"
        if set(certificate_names(certificate)) != set(names):
            return f"(names changed to {', '.join(names)})"
        return ""

    reason = _renewal_reason(
        layout.server_certificate, key, renew_within=renew_within, also=other_problems
    )
    if reason:
        issued = issue_server_certificate(ca, names, days=days, key=key)
        _write_issued(issued, None, layout.server_certificate)
        return Step(what, layout.server_certificate, "renewed", reason)

    _tighten_mode(layout.server_key)
    return Step(what, layout.server_certificate, "kept")


def _ensure_hospital_key(layout: PkiLayout, hospital: Hospital, *, force: bool) -> Step:
    what = f"key of hospital {hospital.name!r}"
    private_path = layout.hospital_key(hospital)
    public_path = layout.hospital_public_key(hospital)
    comment = f"fedcluster-{hospital.slug}"

    if force or not private_path.exists():
        key = new_node_key()
        action: Action = "replaced" if private_path.exists() else "created"
        write_private(private_path, private_openssh(key))
        write_public(public_path, public_openssh(key, comment))
        return Step(what, private_path, action)

    _tighten_mode(private_path)
    if not public_key_matches(private_path, public_path):
        key = load_node_key(private_path)
        write_public(public_path, public_openssh(key, comment))
        return Step(
            what, public_path, "repaired", "(public key rewritten from private)"
        )
    return Step(what, private_path, "kept")


def _renewal_reason(
    certificate_path: Path,
    key: ec.EllipticCurvePrivateKey,
    *,
    renew_within: int,
    also: Callable[[Path], str] | None = None,
) -> str:
    """Why the certificate at `certificate_path` must be reissued, or ''."""
    if not certificate_path.exists():
        return "(certificate was missing)"
    certificate = load_certificate(certificate_path)
    if certificate.public_key() != key.public_key():
        return "(certificate did not match its key)"
    left = days_left(certificate)
    if left < renew_within:
        return f"({left:.0f} days were left)"
    return also(certificate_path) if also else ""


def _write_issued(
    issued: Issued, key_path: Path | None, certificate_path: Path
) -> None:
    if key_path is not None:
        write_private(key_path, key_to_pem(issued.key))
    write_public(certificate_path, to_pem(issued.certificate))


def _tighten_mode(private_path: Path) -> None:
    """Put a private key that someone loosened back to 0600, and say so."""
    mode = private_path.stat().st_mode & 0o777
    if mode != PRIVATE_MODE:
        logger.warning(
            "%s had mode %o; set it back to %o", private_path, mode, PRIVATE_MODE
        )
        private_path.chmod(PRIVATE_MODE)

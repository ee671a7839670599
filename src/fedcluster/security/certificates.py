"""The federation's certificate authority and the SuperLink's server certificate.

The CA signs one server certificate, for the SuperLink. SuperNodes and the
`flwr` command line trust the CA (Flower's `--root-certificates`) and so accept
the SuperLink only under one of the names in its certificate. Every key is
ECDSA on P-384, the curve Flower's node authentication also uses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from fedcluster.security.errors import SecurityError

CURVE = ec.SECP384R1()
# Backdate certificates a little so a peer whose clock runs slightly behind
# does not reject a certificate issued a moment ago.
_CLOCK_SKEW = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class Issued:
    """A private key and the certificate issued for it."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate


def new_key() -> ec.EllipticCurvePrivateKey:
    """A fresh P-384 private key."""
    return ec.generate_private_key(CURVE)


def create_ca(
    federation: str, *, days: int, key: ec.EllipticCurvePrivateKey | None = None
) -> Issued:
    """A self-signed CA for `federation`; pass `key` to renew a CA in place."""
    key = key or new_key()
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "fedcluster"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{federation} federation CA"),
        ]
    )
    now = _now()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _CLOCK_SKEW)
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
            critical=False,
        )
        .sign(key, hashes.SHA384())
    )
    return Issued(key, certificate)


def issue_server_certificate(
    ca: Issued,
    names: Sequence[str],
    *,
    days: int,
    key: ec.EllipticCurvePrivateKey | None = None,
) -> Issued:
    """A TLS server certificate for the SuperLink, valid for every one of `names`."""
    if not names:
        raise ValueError("a server certificate needs at least one name")
    key = key or new_key()
    now = _now()
    # A certificate cannot outlive the CA that signed it.
    not_after = min(now + dt.timedelta(days=days), ca.certificate.not_valid_after_utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "fedcluster"),
                    x509.NameAttribute(NameOID.COMMON_NAME, names[0]),
                ]
            )
        )
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _CLOCK_SKEW)
        .not_valid_after(not_after)
        .add_extension(
            x509.SubjectAlternativeName([_general_name(name) for name in names]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
        .sign(ca.key, hashes.SHA384())
    )
    return Issued(key, certificate)


def certificate_names(certificate: x509.Certificate) -> list[str]:
    """The DNS names and IP addresses a certificate is valid for."""
    try:
        extension = certificate.extensions.get_extension_for_class(
            x509.SubjectAlternativeName
        )
    except x509.ExtensionNotFound:
        return []
    names: list[str] = []
    for entry in extension.value:
        if isinstance(entry, x509.DNSName):
            names.append(entry.value)
        elif isinstance(entry, x509.IPAddress):
            names.append(str(entry.value))
    return names


def is_signed_by(certificate: x509.Certificate, ca: x509.Certificate) -> bool:
    """Whether `ca` issued `certificate` (signature checked, not only names)."""
    try:
        certificate.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def days_left(certificate: x509.Certificate, now: dt.datetime | None = None) -> float:
    """Days until `certificate` expires; negative once it has."""
    now = now or _now()
    return (certificate.not_valid_after_utc - now).total_seconds() / 86_400


def to_pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def key_to_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    """The private key as unencrypted PKCS#8 PEM (what Flower's SuperLink reads)."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_certificate(path: Path) -> x509.Certificate:
    """The PEM certificate at `path`, or a one-line error naming the file."""
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except FileNotFoundError as error:
        raise SecurityError(
            f"{path}: certificate missing; run `fedcluster provision -f FILE`"
        ) from error
    except ValueError as error:
        raise SecurityError(
            f"{path}: not a PEM certificate; "
            "run `fedcluster provision -f FILE --force` to start afresh"
        ) from error


def load_ec_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """The PEM elliptic-curve private key at `path`, or a one-line error."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError as error:
        raise SecurityError(
            f"{path}: private key missing; run `fedcluster provision -f FILE`"
        ) from error
    except (ValueError, TypeError) as error:
        raise SecurityError(
            f"{path}: not an unencrypted PEM private key; "
            "run `fedcluster provision -f FILE --force` to start afresh"
        ) from error
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise SecurityError(f"{path}: not an elliptic-curve key")
    return key


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)

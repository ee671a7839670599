"""Each hospital's SuperNode key pair, in the OpenSSH format Flower reads.

The SuperLink admits a SuperNode only if the SuperNode signs its requests with
a private key whose public half was registered beforehand. The private key
stays with the hospital (`flower-supernode --auth-supernode-private-key`); the
public key is what an operator registers (`flwr supernode register`).
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from fedcluster.security.certificates import CURVE
from fedcluster.security.errors import SecurityError


def new_node_key() -> ec.EllipticCurvePrivateKey:
    """A fresh P-384 key for one hospital's SuperNode."""
    return ec.generate_private_key(CURVE)


def private_openssh(key: ec.EllipticCurvePrivateKey) -> bytes:
    """The private key in OpenSSH format, unencrypted (the SuperNode reads it)."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )


def public_openssh(key: ec.EllipticCurvePrivateKey, comment: str) -> bytes:
    """One `ecdsa-sha2-nistp384 AAAA... comment` line."""
    line = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    # OpenSSH comments end at the line; keep them to one plain word.
    comment = "".join(c if c.isalnum() or c in "._-@" else "-" for c in comment)
    return line + b" " + comment.encode("ascii", "replace") + b"\n"


def load_node_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """The OpenSSH private key at `path`, or a one-line error naming the file."""
    try:
        key = serialization.load_ssh_private_key(path.read_bytes(), password=None)
    except FileNotFoundError as error:
        raise SecurityError(
            f"{path}: hospital key missing; run `fedcluster provision -f FILE`"
        ) from error
    except (ValueError, TypeError) as error:
        raise SecurityError(
            f"{path}: not an unencrypted OpenSSH private key; remove it and run "
            "`fedcluster provision -f FILE`"
        ) from error
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise SecurityError(f"{path}: not an ECDSA key; Flower needs ECDSA P-384")
    return key


def public_key_matches(private_key: Path, public_key: Path) -> bool:
    """Whether the `.pub` file at `public_key` is the public half of `private_key`."""
    key = load_node_key(private_key)
    try:
        public = serialization.load_ssh_public_key(public_key.read_bytes())
    except (OSError, ValueError):
        return False
    return public == key.public_key()

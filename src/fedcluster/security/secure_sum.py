"""The arithmetic and cryptography under secure aggregation.

A hospital turns its weighted update into integers (fixed point, modulo
2^64), adds a random self mask and one pairwise mask per other hospital, and
sends only the masked integers. Pairwise masks cancel in the sum; self masks
and the masks shared with a hospital that dropped out are removed with the
secrets the surviving hospitals reveal (Shamir shares). See
`fedcluster.app.secure_aggregation` for the protocol.

Building blocks are Flower's SecAgg+ primitives: ECDH key pairs and key
agreement (`generate_key_pairs`, `generate_shared_key`), Fernet encryption of
shares between hospitals, and Shamir secret sharing (`create_shares`,
`combine_shares`). The mask generator is our own: AES-256 in counter mode
keyed by a 32-byte seed derived with HKDF. Flower's `pseudo_rand_gen` folds
its seed into 32 bits for numpy's Mersenne Twister, which a curious server
could search exhaustively; a mask must be as hard to guess as the key that
made it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flwr.common.secure_aggregation.crypto.shamir import (
    combine_shares,
    create_shares,
)
from flwr.common.secure_aggregation.crypto.symmetric_encryption import (
    decrypt,
    encrypt,
    generate_shared_key,
)
from flwr.supercore.primitives.asymmetric import (
    bytes_to_private_key,
    bytes_to_public_key,
    generate_key_pairs,
    private_key_to_bytes,
    public_key_to_bytes,
)
from numpy.typing import NDArray

Words = NDArray[np.uint64]

__all__ = [
    "agreed_key",
    "combine_shares",
    "create_shares",
    "decode",
    "encode",
    "mask",
    "new_key_pair",
    "open_share",
    "pair_mask",
    "seal_share",
    "total",
]


# --- fixed point -------------------------------------------------------------


def encode(values: NDArray[np.float64], bits: int) -> Words:
    """Values as 64-bit two's complement fixed point with `bits` fraction bits."""
    scaled = np.rint(np.asarray(values, dtype=np.float64) * float(2**bits))
    if not np.all(np.abs(scaled) < 2.0**62):
        raise ValueError("a value is too large to encode; lower precision_bits")
    return scaled.astype(np.int64).view(np.uint64)


def decode(words: Words, bits: int) -> NDArray[np.float64]:
    """The values a (summed) fixed-point vector stands for."""
    signed: NDArray[np.int64] = np.asarray(words, dtype=np.uint64).view(np.int64)
    return signed.astype(np.float64) / float(2**bits)


def total(vectors: Sequence[Words]) -> Words:
    """Sum modulo 2^64 (numpy's unsigned addition wraps)."""
    result = np.zeros_like(vectors[0])
    for vector in vectors:
        result += vector
    return result


# --- masks -------------------------------------------------------------------


def mask(seed: bytes, length: int) -> Words:
    """`length` pseudo-random 64-bit words from a 32-byte seed (AES-256-CTR)."""
    encryptor = Cipher(algorithms.AES(seed), modes.CTR(bytes(16))).encryptor()
    stream = encryptor.update(bytes(8 * length)) + encryptor.finalize()
    return np.frombuffer(stream, dtype="<u8").astype(np.uint64)


def derive(secret: bytes, label: str) -> bytes:
    """A 32-byte seed for one use (`label`) of a shared secret."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=label.encode()
    ).derive(secret)


def pair_mask(*, secret: bytes, epoch: str, server_round: int, length: int) -> Words:
    """The mask two hospitals share in one round; a new one every round."""
    return mask(derive(secret, f"pair|{epoch}|{server_round}"), length)


# --- keys and shares ---------------------------------------------------------


def new_key_pair() -> tuple[bytes, bytes]:
    """A fresh ECDH key pair as (private PEM, public PEM)."""
    private, public = generate_key_pairs()
    return private_key_to_bytes(private), public_key_to_bytes(public)


def agreed_key(private_pem: bytes, public_pem: bytes) -> bytes:
    """The key two parties agree on from one's private and the other's public."""
    shared: bytes = generate_shared_key(
        bytes_to_private_key(private_pem), bytes_to_public_key(public_pem)
    )
    return shared


def seal_share(key: bytes, label: Mapping[str, Any], share: bytes) -> str:
    """Encrypt a share for one hospital, bound to who sent it, to whom, when."""
    plaintext = json.dumps(
        {**label, "share": base64.b64encode(share).decode()}, sort_keys=True
    ).encode()
    ciphertext: bytes = encrypt(key, plaintext)
    return ciphertext.decode()


def open_share(key: bytes, ciphertext: str, expected: Mapping[str, Any]) -> bytes:
    """Decrypt a share; refuse one sealed for another sender, hospital or round."""
    document = json.loads(decrypt(key, ciphertext.encode()))
    share = base64.b64decode(document.pop("share"))
    if document != dict(expected):
        raise ValueError(f"a share meant for {document} was relayed as {expected}")
    return share

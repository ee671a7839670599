"""Writing key material to disk: atomically, and private keys readable by us only.

A key file is first written under a temporary name in the same folder with its
final mode already set, then renamed over the target, so a crash never leaves a
half-written key and a private key is never readable by others, not even for an
instant.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

PRIVATE_MODE = 0o600
PUBLIC_MODE = 0o644


def write_private(path: Path, content: bytes) -> None:
    """Write `content` to `path` with mode 0600."""
    _write_atomically(path, content, PRIVATE_MODE)


def write_public(path: Path, content: bytes) -> None:
    """Write `content` to `path` with mode 0644."""
    _write_atomically(path, content, PUBLIC_MODE)


def ensure_private_folder(path: Path) -> None:
    """Create `path` (and parents) if missing; the folder itself is mode 0700."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)


def _write_atomically(path: Path, content: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        # The umask may have narrowed the mode given to open(); set it exactly.
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise

"""Errors about key material: missing, unreadable, or about to expire."""

from __future__ import annotations

from fedcluster.errors import FedclusterError


class SecurityError(FedclusterError):
    """A certificate or key is missing, unreadable or expiring.

    Exit code 5, so scripts can tell "renew the certificates" apart from a
    wrong federation file (2) or a failed run (4).
    """

    exit_code = 5

"""Errors of the local deployed runtime (processes on this machine)."""

from __future__ import annotations

from fedcluster.errors import FedclusterError


class LocalRuntimeError(FedclusterError):
    """A Flower process would not start, stop, or answer.

    Exit code 6. The message names the component or hospital and the log file
    that tells why.
    """

    exit_code = 6

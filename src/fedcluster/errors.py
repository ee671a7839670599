"""Errors that reach a user: one line saying what is wrong, where, and the fix.

Every error the command line prints without a traceback derives from
`FedclusterError`. Each class carries the process exit code the CLI uses, so the
codes documented in the README are defined in one place.
"""

from __future__ import annotations


class FedclusterError(Exception):
    """An error with a one-line message meant for the person at the terminal."""

    exit_code = 1


class FederationFileError(FedclusterError):
    """The federation file is missing, unreadable or has a wrong key or value."""

    exit_code = 2


class SiteDataError(FedclusterError):
    """A hospital's data file cannot be used; the message names the hospital."""

    exit_code = 3

    def __init__(self, hospital: str, message: str) -> None:
        super().__init__(f"hospital {hospital!r}: {message}")
        self.hospital = hospital
        self.reason = message


class TaskError(FedclusterError):
    """A task cannot be found, imported, or does not follow the Task protocol."""

    exit_code = 2


class RunError(FedclusterError):
    """A federated run failed or cannot be found."""

    exit_code = 4


class PrivacyBudgetError(FedclusterError):
    """A run would take a hospital past its differential privacy budget."""

    exit_code = 7

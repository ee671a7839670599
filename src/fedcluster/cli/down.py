"""`fedcluster down`: stop exactly what `fedcluster up` started."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from fedcluster.cli.common import FEDERATION_OPTION


def down_command(file: Path = FEDERATION_OPTION) -> None:
    """Stop the SuperLink, SuperNodes and SuperExecs that `up` started.

    Only processes recorded by `up` are signalled, and only while their pid
    still belongs to the program that was started. Logs, keys and the
    SuperLink database are kept.
    """
    from fedcluster.federation.load import load_federation
    from fedcluster.runtime.local import stop_federation

    federation = load_federation(file)
    console = Console()
    with console.status(f"stopping {federation.name!r}..."):
        report = stop_federation(federation)
    if not report.stopped and not report.already_gone:
        console.print(f"nothing of {federation.name!r} was running")
        return
    console.print(f"stopped {len(report.stopped)} processes of {federation.name!r}")
    if report.already_gone:
        gone = ", ".join(record.label for record in report.already_gone)
        console.print(f"already gone: {gone}")

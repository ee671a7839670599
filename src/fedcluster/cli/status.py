"""`fedcluster status`: the local runtime's processes and hospitals' node states."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from fedcluster.cli.common import FEDERATION_OPTION


def status_command(
    file: Path = FEDERATION_OPTION,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help='Print {"superlink": {"pid", "running"}, "hospitals": '
            '{NAME: {"pid", "running", "node"}}}.',
        ),
    ] = False,
) -> None:
    """Show whether the SuperLink and each hospital's SuperNode run.

    The node column is the SuperLink's view: online, registered (never
    connected), offline (left), unknown (SuperLink not answering).
    """
    from fedcluster.federation.load import load_federation
    from fedcluster.runtime.local import federation_status

    status = federation_status(load_federation(file))
    if as_json:
        typer.echo(json.dumps(status.as_json(), indent=2))
        return

    table = Table("component", "pid", "process", "node")
    superlink = status.superlink
    table.add_row(
        "SuperLink",
        str(superlink.pid or "-"),
        _running(superlink.running),
        "",
    )
    for name, hospital in status.hospitals.items():
        node_style = "green" if hospital.node == "online" else "yellow"
        table.add_row(
            f"hospital {name}",
            str(hospital.pid or "-"),
            _running(hospital.running),
            f"[{node_style}]{hospital.node}[/]",
        )
    Console().print(table)


def _running(running: bool) -> str:
    return "[green]running[/]" if running else "[red]stopped[/]"

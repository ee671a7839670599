"""`fedcluster up`: start the deployed runtime's processes on this machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from fedcluster.cli.common import FEDERATION_OPTION
from fedcluster.errors import FedclusterError


def up_command(
    file: Path = FEDERATION_OPTION,
    runtime: Annotated[
        str | None,
        typer.Option(
            "--runtime",
            help="Where to start the federation; only `local` (processes on "
            "this machine) so far.",
        ),
    ] = None,
) -> None:
    """Start a SuperLink and one SuperNode per hospital, over TLS with node keys.

    Needs the keys from `fedcluster provision`. Returns once every hospital's
    SuperNode is online; stop everything with `fedcluster down`.
    """
    from fedcluster.federation.load import load_federation
    from fedcluster.runtime.local import start_federation

    federation = load_federation(file)
    chosen = runtime or (
        "local" if federation.runtime == "simulation" else federation.runtime
    )
    if chosen == "simulation":
        raise FedclusterError(
            "the simulation runtime starts nothing ahead of a run; "
            f"run `fedcluster run -f {file}` instead, or pass --runtime local"
        )
    if chosen != "local":
        raise FedclusterError(
            f"`fedcluster up` supports --runtime local only; got {chosen!r}"
        )

    console = Console()
    with console.status(
        f"starting {len(federation.hospitals)} hospitals of {federation.name!r}..."
    ):
        state = start_federation(federation)

    table = Table("process", "hospital", "pid", "log")
    table.columns[-1].overflow = "fold"
    for record in state.processes:
        table.add_row(record.role, record.hospital or "", str(record.pid), record.log)
    console.print(table)
    console.print(
        f"SuperLink at {state.superlink_address}; all "
        f"{len(federation.hospitals)} hospitals online. "
        f"Stop with `fedcluster down -f {file}`."
    )

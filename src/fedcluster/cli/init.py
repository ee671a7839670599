"""`fedcluster init`: write a commented federation file to start from."""

from __future__ import annotations

from pathlib import Path

import typer

from fedcluster.cli.common import console
from fedcluster.errors import FedclusterError


def init_command(
    output: Path = typer.Option(
        Path("federation.toml"), "--output", "-o", help="Where to write the file."
    ),
    name: str = typer.Option("my-federation", "--name", help="Federation name."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Write a commented federation.toml for four hospitals to edit."""
    from fedcluster.federation.templates import starter_federation

    if output.exists() and not force:
        raise FedclusterError(
            f"{output} already exists; pass --force to overwrite it or -o another path"
        )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(starter_federation(name), encoding="utf-8")
    console.print(
        f"wrote {output}; point each [[hospital]] at its data, then run "
        f"`fedcluster check -f {output}`"
    )

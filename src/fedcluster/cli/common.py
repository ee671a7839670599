"""Options and helpers shared by several commands."""

from __future__ import annotations

import logging
from pathlib import Path

import typer
from rich.console import Console

from fedcluster.federation.model import Federation

console = Console(highlight=False)

FEDERATION_OPTION = typer.Option(
    Path("federation.toml"),
    "--file",
    "-f",
    help="The federation file.",
    show_default=True,
)


def quiet_flower() -> None:
    """Keep Flower's and Ray's chatter out of the terminal unless --debug."""
    if logging.getLogger().isEnabledFor(logging.DEBUG):
        return
    for name in ("flwr", "ray"):
        logging.getLogger(name).setLevel(logging.ERROR)
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)


def with_runtime(federation: Federation, runtime: str | None) -> Federation:
    """The federation with its runtime overridden from the command line."""
    return federation if runtime is None else federation.on_runtime(runtime)

"""`fedcluster report RUN_ID`: (re)write a run's self-contained HTML report.

Every run writes its report when it ends; this command rebuilds it, for a run
that crashed before it could, or after the report code improved.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console()


def report_command(
    run_id: Annotated[
        str,
        typer.Argument(help="A run id, an unambiguous start of one, or a run folder."),
    ],
    runs_dir: Annotated[
        Path, typer.Option("--runs-dir", help="The folder that holds the runs.")
    ] = Path("runs"),
) -> None:
    """Write runs/<id>/report.html: one page that opens with no network.

    RUN_ID is a run id, an unambiguous start of one, or a run folder.
    """
    from fedcluster.report.html import write_report
    from fedcluster.report.store import find_run

    path = write_report(find_run(runs_dir, run_id))
    console.print(f"report written to [bold]{path}[/]", highlight=False)

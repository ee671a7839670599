"""`fedcluster runs compare RUN_A RUN_B ...`: one page setting runs side by side.

Until `fedcluster runs` becomes a group of commands, the same command is
registered as `fedcluster compare`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from fedcluster.errors import RunError

console = Console()


def compare_command(
    ctx: typer.Context,
    run_ids: Annotated[
        list[str],
        typer.Argument(
            help="Two or more run ids (or unambiguous starts of them, or folders)."
        ),
    ],
    runs_dir: Annotated[
        Path | None,
        typer.Option(
            "--runs-dir", help="The folder that holds the runs (default: runs)."
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Where to write the page (default: RUNS_DIR/compare-TIME.html).",
        ),
    ] = None,
) -> None:
    """Write one page comparing runs: AUC per round, per hospital, cost.

    Name each run by its id, an unambiguous start of one, or its folder.
    """
    from fedcluster.report.compare import write_comparison
    from fedcluster.report.store import find_run

    if len(run_ids) < 2:
        raise RunError(
            "compare needs at least two runs; list them with `fedcluster runs`"
        )
    # `fedcluster runs --runs-dir X compare A B` names the folder on the group.
    if runs_dir is None:
        group = ctx.parent.params if ctx.parent else {}
        runs_dir = Path(group.get("runs_dir") or "runs")
    run_dirs = [find_run(runs_dir, run_id) for run_id in run_ids]
    if output is None:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        output = runs_dir / f"compare-{stamp}.html"
    path = write_comparison(run_dirs, output)
    console.print(f"comparison written to [bold]{path}[/]", highlight=False)

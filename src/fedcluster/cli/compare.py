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
    run_ids: Annotated[
        list[str],
        typer.Argument(
            help="Two or more run ids (or unambiguous starts of them, or folders)."
        ),
    ],
    runs_dir: Annotated[
        Path, typer.Option("--runs-dir", help="The folder that holds the runs.")
    ] = Path("runs"),
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Where to write the page [default: RUNS_DIR/compare-<time>.html].",
        ),
    ] = None,
) -> None:
    """Write one page comparing runs: AUC per round, per hospital, cost."""
    from fedcluster.report.compare import write_comparison
    from fedcluster.report.store import find_run

    if len(run_ids) < 2:
        raise RunError(
            "compare needs at least two runs; list them with `fedcluster runs`"
        )
    run_dirs = [find_run(runs_dir, run_id) for run_id in run_ids]
    if output is None:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        output = runs_dir / f"compare-{stamp}.html"
    path = write_comparison(run_dirs, output)
    console.print(f"comparison written to [bold]{path}[/]", highlight=False)

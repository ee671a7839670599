"""`fedcluster runs`: list runs and their outcome (more subcommands hang here)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from fedcluster.cli.common import console

app = typer.Typer(help="List and compare runs.", no_args_is_help=False)

RUNS_DIR_OPTION = typer.Option(Path("runs"), "--runs-dir", help="The runs folder.")


@app.callback(invoke_without_command=True)
def runs_command(ctx: typer.Context, runs_dir: Path = RUNS_DIR_OPTION) -> None:
    """List the runs in the runs folder, newest last."""
    if ctx.invoked_subcommand is not None:
        return
    from fedcluster.report.store import read_metrics, read_summary

    folders = (
        sorted(p for p in runs_dir.iterdir() if p.is_dir()) if runs_dir.is_dir() else []
    )
    if not folders:
        console.print(f"no runs in {runs_dir}; start one with `fedcluster demo`")
        return
    table = Table(title=f"runs in {runs_dir}", title_justify="left")
    for column in ("run", "status", "runtime", "strategy", "rounds", "pooled AUC"):
        table.add_column(column)
    for folder in folders:
        summary = read_summary(folder)
        if summary is None:
            done = max((m["round"] for m in read_metrics(folder)), default=0)
            table.add_row(
                folder.name, "[yellow]unfinished[/]", "-", "-", str(done), "-"
            )
            continue
        status = summary.get("status", "?")
        colour = "green" if status == "completed" else "red"
        auc = (
            summary.get("results", {}).get("pooled", {}).get("federated", {}).get("auc")
        )
        table.add_row(
            folder.name,
            f"[{colour}]{status}[/]",
            str(summary.get("runtime")),
            str(summary.get("strategy")),
            f"{summary.get('rounds_completed', '?')}/{summary.get('rounds')}",
            "-" if auc is None else f"{auc:.3f}",
        )
    console.print(table)

"""`fedcluster check`: validate the federation file and every hospital's data.

Prints a profile per hospital with aggregate counts only (rows, label
balance, missing values per column), never a patient's values.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from fedcluster.cli.common import FEDERATION_OPTION, console
from fedcluster.errors import SiteDataError


def check_command(file: Path = FEDERATION_OPTION) -> None:
    """Check FILE and every hospital's data; exit 3 if any data is unusable."""
    from fedcluster.federation.load import load_federation
    from fedcluster.tasks.registry import task_from_settings

    federation = load_federation(file)
    task = task_from_settings(federation.task.model_dump())
    console.print(
        f"{file}: federation {federation.name!r}, {len(federation.hospitals)} "
        f"hospitals, task {federation.task.name!r}, strategy "
        f"{federation.strategy.name!r}, {federation.rounds} rounds"
    )

    table = Table(title="hospitals (aggregate counts only)", title_justify="left")
    for column in ("hospital", "rows", "train/test", "positive", "missing values"):
        table.add_column(column, justify="left" if column[0] in "hm" else "right")
    problems: list[SiteDataError] = []
    for hospital in federation.hospitals:
        try:
            site = task.load_site(hospital.name, hospital.data, seed=federation.seed)
        except SiteDataError as error:
            problems.append(error)
            table.add_row(hospital.name, "-", "-", "-", "[red]unusable, see below[/]")
            continue
        profile = task.profile(site)
        missing = ", ".join(
            f"{column} {count}" for column, count in profile.missing.items() if count
        )
        table.add_row(
            hospital.name,
            str(profile.rows),
            f"{profile.train_rows}/{profile.test_rows}",
            f"{profile.positive_rate:.0%}",
            missing or "none",
        )
    console.print(table)
    for problem in problems:
        console.print(f"[bold red]error:[/] {problem}")
    if problems:
        raise typer.Exit(SiteDataError.exit_code)
    console.print("[green]all hospitals' data is usable[/]")

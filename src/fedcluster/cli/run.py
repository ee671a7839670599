"""`fedcluster run`: train a federation file on its runtime."""

from __future__ import annotations

from pathlib import Path

import typer

from fedcluster.cli.common import FEDERATION_OPTION, console, quiet_flower, with_runtime


def run_command(
    file: Path = FEDERATION_OPTION,
    runtime: str | None = typer.Option(
        None,
        "--runtime",
        help="simulation, local or kubernetes; overrides the file's runtime.",
    ),
    runs_dir: Path | None = typer.Option(
        None, "--runs-dir", help="Where run folders go (default: the file's runs_dir)."
    ),
    resume: str | None = typer.Option(
        None,
        "--resume",
        metavar="RUN_ID",
        help="Continue a deployed run from its last checkpoint.",
    ),
) -> None:
    """Train the federation in FILE and print what federation bought each hospital."""
    from fedcluster.federation.load import load_federation

    federation = with_runtime(load_federation(file), runtime)
    run_federation(federation, runs_dir=runs_dir, resume_id=resume)


def run_federation(
    federation: object, *, runs_dir: Path | None = None, resume_id: str | None = None
) -> Path:
    """Run with live progress, print the results table; return the run folder."""
    from fedcluster.cli.progress import RunProgress
    from fedcluster.cli.results import print_results
    from fedcluster.federation.model import Federation
    from fedcluster.report import store
    from fedcluster.runtime.launch import execute, prepare_run

    assert isinstance(federation, Federation)
    quiet_flower()
    if resume_id:
        run_dir = store.find_run(runs_dir or federation.runs_dir, resume_id)
    else:
        run_dir = prepare_run(federation, runs_dir)
    console.print(
        f"[bold]{federation.name}[/]: {len(federation.hospitals)} hospitals, "
        f"{federation.rounds} rounds of {federation.strategy.name} "
        f"({federation.runtime}); run folder {run_dir}"
    )
    with RunProgress(
        run_dir,
        rounds=federation.rounds,
        hospitals=[h.name for h in federation.hospitals],
        console=console,
    ):
        summary = execute(federation, run_dir, resume=resume_id is not None)
    print_results(summary, console)
    console.print(
        f"run {summary['run_id']} finished in {summary['seconds']['total']:.1f} s; "
        f"results in {run_dir}"
    )
    return run_dir

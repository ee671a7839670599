"""`fedcluster demo`: four real hospitals' heart disease data, trained federated."""

from __future__ import annotations

from pathlib import Path

import typer

from fedcluster.cli.common import console


def demo_command(
    rounds: int = typer.Option(20, "--rounds", min=1, help="Federated rounds."),
    seed: int = typer.Option(0, "--seed", help="Fixes splits and initial model."),
    runs_dir: Path = typer.Option(
        Path("runs"), "--runs-dir", help="Where the run folder is written."
    ),
    folder: Path = typer.Option(
        Path("demo"),
        "--folder",
        help="Where the hospitals' CSVs and federation.toml go.",
    ),
) -> None:
    """Write the four demo hospitals' data and train on it in simulation."""
    from fedcluster.cli.run import run_federation
    from fedcluster.data.demo import write_demo_data
    from fedcluster.federation.load import load_federation
    from fedcluster.federation.templates import demo_federation

    hospitals = write_demo_data(folder)
    for hospital in hospitals:
        console.print(f"  {hospital.name}: {hospital.rows} patients -> {hospital.path}")
    federation_file = folder / "federation.toml"
    federation_file.write_text(
        demo_federation(
            [(h.name, h.path) for h in hospitals],
            rounds=rounds,
            seed=seed,
            runs_dir=Path(runs_dir).resolve(),
        ),
        encoding="utf-8",
    )
    console.print(f"federation file: {federation_file}")
    run_federation(load_federation(federation_file))

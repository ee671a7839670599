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
    runtime: str = typer.Option(
        "simulation",
        "--runtime",
        help="simulation (Flower's simulation engine) or local (real SuperLink "
        "and SuperNode processes over TLS: provision, up, run, down in one go).",
    ),
) -> None:
    """Write the four demo hospitals' data and train on it."""
    from fedcluster.cli.run import run_federation
    from fedcluster.data.demo import write_demo_data
    from fedcluster.errors import FedclusterError
    from fedcluster.federation.load import load_federation
    from fedcluster.federation.templates import demo_federation

    if runtime not in ("simulation", "local"):
        raise FedclusterError(
            f"the demo runs on simulation or local, not {runtime!r}; for "
            "Kubernetes write a federation file with `fedcluster init --kubernetes`"
        )
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
            runtime=runtime,
        ),
        encoding="utf-8",
    )
    console.print(f"federation file: {federation_file}")
    federation = load_federation(federation_file)
    if runtime == "simulation":
        run_federation(federation)
        return

    from fedcluster.runtime.local import start_federation, stop_federation
    from fedcluster.security.pki import provision

    provision(federation)
    with console.status("starting a SuperLink and four SuperNodes over TLS..."):
        start_federation(federation)
    try:
        run_federation(federation)
    finally:
        with console.status("stopping the SuperLink and SuperNodes..."):
            stop_federation(federation)
        console.print(f"stopped every process; logs in {federation.state_dir}")

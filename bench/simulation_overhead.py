"""Seconds per round of the simulated demo against the compute floor.

The floor is the same work done back to back in one process without Flower:
per round, every hospital loads the global model, evaluates it on its test
set, trains one local epoch, and the server averages. The simulated run does
exactly that through Flower's simulation engine. Both are measured here, in
one run, and printed side by side with their ratio.

    .venv/bin/python bench/simulation_overhead.py [--rounds 20] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")


def compute_floor(federation_file: Path) -> float:
    """Median seconds per round for the same evaluation and training without
    Flower (the median, since the first round also warms torch up)."""
    import numpy as np

    from fedcluster.data.standardise import combine_statistics
    from fedcluster.federation.load import load_federation
    from fedcluster.runtime.simulation import load_sites
    from fedcluster.tasks.registry import task_from_settings

    federation = load_federation(federation_file)
    task = task_from_settings(federation.task.model_dump())
    sites = load_sites(federation, task)
    stats = combine_statistics([task.statistics(s) for s in sites])
    global_model = task.build_model(federation.seed).state_dict()

    seconds = []
    for server_round in range(1, federation.rounds + 1):
        started = time.perf_counter()
        states, weights = [], []
        for site in sites:
            model = task.build_model(federation.seed)
            model.load_state_dict(global_model)
            task.evaluate(model, site, stats)
            outcome = task.train(
                model, site, stats, epochs=federation.local_epochs, seed=server_round
            )
            states.append(model.state_dict())
            weights.append(outcome.examples)
        share = np.asarray(weights, dtype=float) / sum(weights)
        global_model = {
            key: sum(w * state[key] for w, state in zip(share, states, strict=True))
            for key in states[0]
        }
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def simulated(federation_file: Path) -> tuple[float, float, int]:
    """(median seconds per round inside Flower, whole run's seconds, rounds)."""
    from fedcluster.cli.common import quiet_flower
    from fedcluster.federation.load import load_federation
    from fedcluster.report.store import read_metrics
    from fedcluster.runtime.launch import execute, prepare_run

    quiet_flower()
    federation = load_federation(federation_file)
    run_dir = prepare_run(federation)
    started = time.perf_counter()
    execute(federation, run_dir)
    total = time.perf_counter() - started
    lines = [line for line in read_metrics(run_dir) if line["round"] > 0]
    # The median, as for the floor: the first round also starts the workers.
    per_round = statistics.median(line["seconds"] for line in lines)
    return per_round, total, len(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from fedcluster.data.demo import write_demo_data
    from fedcluster.federation.templates import demo_federation

    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        hospitals = write_demo_data(base)
        federation_file = base / "federation.toml"
        federation_file.write_text(
            demo_federation(
                [(h.name, h.path) for h in hospitals],
                rounds=args.rounds,
                seed=args.seed,
                runs_dir=Path("runs"),
            )
        )
        floor = compute_floor(federation_file)
        per_round, total, rounds = simulated(federation_file)

    print(f"demo, 4 hospitals, {rounds} rounds, seed {args.seed}")
    print(f"{'':38}{'s/round':>10}{'ratio':>8}")
    print(f"{'compute floor (no Flower, one process)':38}{floor:10.3f}{1.0:8.1f}")
    inside = "simulation, inside the round loop"
    print(f"{inside:38}{per_round:10.3f}{per_round / floor:8.1f}")
    whole = total / rounds
    print(
        f"{'simulation, whole run incl. start-up':38}{whole:10.3f}{whole / floor:8.1f}"
    )
    print(f"whole simulated run: {total:.1f} s (Ray start, baselines, {rounds} rounds)")


if __name__ == "__main__":
    main()

"""The demo's acceptance numbers over seeds: federated vs local vs centralized.

Runs the simulated demo with its defaults for each seed and prints pooled AUC
of the federated model, the centralized reference and the mean local-only
model, then the medians and whether the targets hold (federated >= 0.86,
within 0.015 of centralized, at least 0.07 above local-only).

    .venv/bin/python bench/demo_accuracy.py [--seeds 0 1 2 3 4] [--rounds 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()

    from fedcluster.cli.common import quiet_flower
    from fedcluster.data.demo import write_demo_data
    from fedcluster.federation.load import load_federation
    from fedcluster.federation.templates import demo_federation
    from fedcluster.runtime.launch import execute, prepare_run

    quiet_flower()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        hospitals = write_demo_data(base)
        for seed in args.seeds:
            path = base / f"federation-{seed}.toml"
            path.write_text(
                demo_federation(
                    [(h.name, h.path) for h in hospitals],
                    rounds=args.rounds,
                    seed=seed,
                    runs_dir=Path("runs"),
                )
            )
            federation = load_federation(path)
            started = time.perf_counter()
            summary = execute(federation, prepare_run(federation))
            seconds = time.perf_counter() - started
            pooled = summary["results"]["pooled"]
            rows.append(
                (
                    seed,
                    pooled["federated"]["auc"],
                    pooled["centralized"]["auc"],
                    pooled["local"]["auc"],
                    seconds,
                )
            )

    print(f"{'seed':>4}{'federated':>11}{'centralized':>13}{'local':>8}{'seconds':>9}")
    for seed, fed, central, local, seconds in rows:
        print(f"{seed:>4}{fed:11.3f}{central:13.3f}{local:8.3f}{seconds:9.1f}")
    fed = statistics.median(r[1] for r in rows)
    central = statistics.median(r[2] for r in rows)
    local = statistics.median(r[3] for r in rows)
    gap = statistics.median(r[2] - r[1] for r in rows)
    gain = statistics.median(r[1] - r[3] for r in rows)
    print(f"{'med':>4}{fed:11.3f}{central:13.3f}{local:8.3f}")
    print(f"federated >= 0.86: {fed >= 0.86}")
    print(f"centralized - federated = {gap:.3f} (<= 0.015: {gap <= 0.015})")
    print(f"federated - local = {gain:.3f} (>= 0.07: {gain >= 0.07})")


if __name__ == "__main__":
    main()

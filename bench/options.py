"""Each privacy and robustness option on the demo: pooled AUC and time, side by side.

Writes the four demo hospitals once, then runs the simulated demo (Flower's
simulation engine, through `prepare_run` and `execute` as `fedcluster run`
does) once per option and prints one row each: pooled AUC of the federated
model (and of the personalised models where on), epsilon where DP is on, and
seconds. `s/round` is the median over rounds 2..N of the round's own time
(the first round also waits for Ray to start its workers); `total s` is the
whole run, baselines included.

    .venv/bin/python bench/options.py [--rounds 20] [--seed 0] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")

FEDAVG = '[strategy]\nname = "fedavg"'
ATTACK = '\n[attack]\nhospital = "Switzerland"\nscale = -10.0\n'

# name -> (what replaces the [strategy] table, tables appended to the file)
OPTIONS: dict[str, tuple[str, str]] = {
    "fedavg": (FEDAVG, ""),
    "dp, noise at server": (
        FEDAVG,
        '\n[privacy]\nnoise = "server"\nclipping_norm = 0.25\nnoise_multiplier = 1.0\n',
    ),
    "dp, noise at hospital": (
        FEDAVG,
        '\n[privacy]\nnoise = "hospital"\nclipping_norm = 0.25\n'
        "noise_multiplier = 1.0\n",
    ),
    "secure aggregation": (FEDAVG, "\n[secure_aggregation]\n"),
    "secagg + dp at server": (
        FEDAVG,
        '\n[secure_aggregation]\n\n[privacy]\nnoise = "server"\n'
        "clipping_norm = 0.25\nnoise_multiplier = 1.0\n",
    ),
    "fedmedian": ('[strategy]\nname = "fedmedian"', ""),
    "fedtrimmedavg (beta 0.25)": ('[strategy]\nname = "fedtrimmedavg"', ""),
    "multi-krum (f 1, keep 3)": (
        '[strategy]\nname = "krum"\nnum_nodes_to_select = 3',
        "",
    ),
    "personalisation (3 epochs)": (FEDAVG, "\n[personalisation]\n"),
    "fedavg, Switzerland x -10": (FEDAVG, ATTACK),
    "fedmedian, Switzerland x -10": ('[strategy]\nname = "fedmedian"', ATTACK),
    "multi-krum, Switzerland x -10": (
        '[strategy]\nname = "krum"\nnum_nodes_to_select = 3',
        ATTACK,
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="+", default=None, choices=list(OPTIONS))
    args = parser.parse_args()

    from fedcluster.cli.common import quiet_flower
    from fedcluster.data.demo import write_demo_data
    from fedcluster.federation.load import load_federation
    from fedcluster.federation.templates import demo_federation
    from fedcluster.report import store
    from fedcluster.runtime.launch import execute, prepare_run

    quiet_flower()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        hospitals = write_demo_data(base)
        template = demo_federation(
            [(h.name, h.path) for h in hospitals],
            rounds=args.rounds,
            seed=args.seed,
            runs_dir=Path("runs"),
        )
        for index, name in enumerate(args.only or list(OPTIONS)):
            strategy, tables = OPTIONS[name]
            path = base / f"federation-{index}.toml"
            path.write_text(template.replace(FEDAVG, strategy) + tables)
            federation = load_federation(path)
            started = time.perf_counter()
            run_dir = prepare_run(federation)
            summary = execute(federation, run_dir)
            total = time.perf_counter() - started
            rounds = [
                float(line["seconds"])
                for line in store.read_metrics(run_dir)
                if line.get("round", 0) > 1
            ]
            pooled = summary["results"]["pooled"]
            rows.append(
                (
                    name,
                    pooled["federated"]["auc"],
                    (pooled.get("personalised") or {}).get("auc"),
                    summary["privacy"].get("epsilon"),
                    statistics.median(rounds) if rounds else float("nan"),
                    total,
                )
            )
            print(f"done: {name}", flush=True)

    print()
    print(
        f"| option | pooled AUC | personalised AUC | epsilon (delta 1e-5) "
        f"| s/round | total s |  ({args.rounds} rounds, seed {args.seed})"
    )
    print("|---|---|---|---|---|---|")
    for name, auc, personal, epsilon, per_round, total in rows:
        personal_text = "-" if personal is None else f"{personal:.3f}"
        epsilon_text = "-" if epsilon is None else f"{epsilon:.1f}"
        print(
            f"| {name} | {auc:.3f} | {personal_text} | {epsilon_text} "
            f"| {per_round:.3f} | {total:.1f} |"
        )


if __name__ == "__main__":
    main()

"""What update compression saves and costs, on the demo, side by side.

    .venv/bin/python bench/compression.py              # seeds 0-4, 20 rounds
    .venv/bin/python bench/compression.py --seeds 2 --rounds 10

For each seed, the demo federation (the UCI heart disease study's four
hospitals, logistic regression, FedAvg) runs in Flower's simulation engine
three times: `[traffic] compression = "none"`, `"float16"` and `"int8"`.
Printed per seed: bytes per round per hospital as they travelled (from
`summary.json`, both directions), and the final pooled AUC, with each
compressed run's ratio and AUC difference against `none` of the same seed.
Then the model alone: the bytes of one model message under each method, and
the same for a model 1,000 times larger, where NumPy's per-array header no
longer counts.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import Any

METHODS = ("none", "float16", "int8")


def run_demo(folder: Path, *, seed: int, rounds: int, method: str) -> dict[str, Any]:
    from fedcluster.federation.load import load_federation
    from fedcluster.federation.templates import demo_federation
    from fedcluster.runtime.launch import execute, prepare_run

    data = folder / "data"
    hospitals = [
        ("Cleveland", data / "cleveland.csv"),
        ("Hungary", data / "hungary.csv"),
        ("VA Long Beach", data / "va-long-beach.csv"),
        ("Switzerland", data / "switzerland.csv"),
    ]
    text = demo_federation(
        hospitals, rounds=rounds, seed=seed, runs_dir=folder / "runs" / method
    )
    path = folder / f"demo-{seed}-{method}.toml"
    path.write_text(text + f'\n[traffic]\ncompression = "{method}"\n', "utf-8")
    federation = load_federation(path)
    summary: dict[str, Any] = execute(federation, prepare_run(federation))
    return summary


def model_bytes() -> list[tuple[str, dict[str, int]]]:
    """Bytes of one model message: the demo's model, and one 1,000x larger."""
    import numpy as np

    from fedcluster.app.compression import encode_model
    from fedcluster.tasks.heart import HeartTask

    model = HeartTask().build_model(0)
    demo = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    rng = np.random.default_rng(0)
    large = {
        "hidden.weight": rng.normal(0, 0.1, (1000, demo["0.weight"].size)),
        "hidden.bias": rng.normal(0, 0.1, 1000),
    }
    large = {k: v.astype(np.float32) for k, v in large.items()}
    sizes = []
    for name, arrays in (("demo logistic", demo), ("1,000x larger", large)):
        values = sum(a.size for a in arrays.values())
        label = f"{name} ({values:,} values)"
        sizes.append(
            (label, {m: encode_model(arrays, m).count_bytes() for m in METHODS})
        )
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument(
        "--folder", type=Path, default=Path("/tmp/fedcluster-compression")
    )
    args = parser.parse_args()
    os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")
    logging.basicConfig(level=logging.WARNING)
    for name in ("flwr", "ray"):
        logging.getLogger(name).setLevel(logging.ERROR)

    from fedcluster.data.demo import write_demo_data

    args.folder.mkdir(parents=True, exist_ok=True)
    write_demo_data(args.folder)
    results: dict[tuple[int, str], tuple[float, float]] = {}
    for seed in range(args.seeds):
        for method in METHODS:
            summary = run_demo(
                args.folder, seed=seed, rounds=args.rounds, method=method
            )
            per_round = summary["bytes"]["per_round"] / len(summary["hospitals"])
            auc = summary["results"]["pooled"]["federated"]["auc"]
            results[seed, method] = (per_round, auc)

    print(f"\ndemo, {args.rounds} rounds, FedAvg, logistic regression\n")
    header = (
        f"{'seed':>4} {'compression':>11} {'bytes/round/hospital':>21} "
        f"{'x none':>7} {'pooled AUC':>10} {'AUC - none':>10}"
    )
    print(header)
    print("-" * len(header))
    worst = {method: 0.0 for method in METHODS}
    for seed in range(args.seeds):
        base_bytes, base_auc = results[seed, "none"]
        for method in METHODS:
            moved, auc = results[seed, method]
            worst[method] = max(worst[method], abs(auc - base_auc))
            print(
                f"{seed:>4} {method:>11} {moved:>21,.0f} {moved / base_bytes:>7.3f} "
                f"{auc:>10.4f} {auc - base_auc:>+10.4f}"
            )
    print(
        "\nlargest |AUC - none| over seeds: "
        + ", ".join(f"{m} {worst[m]:.4f}" for m in METHODS[1:])
    )

    print("\nbytes of one model message\n")
    print(f"{'model':>32} " + " ".join(f"{m:>9}" for m in METHODS) + "  ratios")
    for label, sizes in model_bytes():
        ratios = " ".join(f"{sizes[m] / sizes['none']:.3f}" for m in METHODS[1:])
        cells = " ".join(f"{sizes[m]:>9,}" for m in METHODS)
        print(f"{label:>32} {cells}  {ratios}")


if __name__ == "__main__":
    main()

"""Builds synthetic run folders, laid out as docs/run-store.md describes.

The report tests use these folders so they run in milliseconds and can shape
a run at will: a hospital that loses from federation, a hospital that drops
out of a round, a run that failed half way. This module holds no tests.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HOSPITALS = {
    "Cleveland": {"rows": 303, "train": 227, "test": 76, "positive_rate": 0.46},
    "Hungary": {"rows": 293, "train": 220, "test": 73, "positive_rate": 0.36},
    "VA Long Beach": {"rows": 200, "train": 150, "test": 50, "positive_rate": 0.75},
    "Switzerland": {"rows": 123, "train": 92, "test": 31, "positive_rate": 0.93},
}

# Final AUC per hospital: (local only, federated). Switzerland loses.
FINAL_AUC = {
    "Cleveland": (0.84, 0.91),
    "Hungary": (0.82, 0.89),
    "VA Long Beach": (0.66, 0.74),
    "Switzerland": (0.71, 0.64),
}


def round_line(
    round_number: int,
    hospitals: list[str],
    *,
    failures: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One `metrics.jsonl` line whose AUC climbs towards `FINAL_AUC`."""
    failures = failures or {}
    progress = min(round_number / 3, 1.0)
    per_hospital = {}
    for index, name in enumerate(hospitals):
        final = FINAL_AUC.get(name, (0.7, 0.8))[1]
        auc = 0.5 + (final - 0.5) * progress
        per_hospital[name] = {
            "auc": round(auc, 4),
            "accuracy": round(auc - 0.06, 4),
            "loss": round(0.69 - 0.25 * progress + 0.02 * index, 4),
            "examples": HOSPITALS.get(name, {"test": 20})["test"],
        }
    contributors = [n for n in hospitals if n not in failures] if round_number else []
    return {
        "round": round_number,
        "hospitals": per_hospital,
        "pooled": {
            "auc": round(0.5 + 0.35 * progress, 4),
            "accuracy": round(0.5 + 0.3 * progress, 4),
            "loss": round(0.69 - 0.26 * progress, 4),
            "examples": 230,
        },
        "contributors": contributors,
        "failures": failures if round_number else {},
        "train_examples": 689 if round_number else 0,
        "seconds": 0.4 + 0.05 * round_number,
        "bytes_sent": 10240 * len(hospitals) if round_number else 0,
        "bytes_received": 10496 * len(contributors),
        "bytes_by_hospital": {
            name: {"sent": 10240, "received": 10496 if name in contributors else 0}
            for name in (hospitals if round_number else [])
        },
        "time": f"2026-12-03T16:40:{round_number:02d}+00:00",
    }


def summary(
    run_id: str,
    hospitals: list[str],
    *,
    rounds: int,
    status: str = "completed",
    error: str | None = None,
    with_results: bool = True,
) -> dict[str, Any]:
    """A `summary.json` with baselines for every hospital and pooled."""
    results: dict[str, Any] = {}
    if with_results:
        for name in hospitals:
            local, federated = FINAL_AUC.get(name, (0.7, 0.8))
            results[name] = {
                "local": {"auc": local, "accuracy": local - 0.05},
                "federated": {"auc": federated, "accuracy": federated - 0.05},
                "centralized": {"auc": federated + 0.01, "accuracy": federated - 0.04},
                "local_on_pooled": {"auc": local - 0.04, "accuracy": local - 0.09},
                "gain": {
                    "auc": round(federated - local, 4),
                    "accuracy": round(federated - local, 4),
                },
            }
        results["pooled"] = {
            "local": {"auc": 0.76, "accuracy": 0.7},
            "federated": {"auc": 0.875, "accuracy": 0.8},
            "centralized": {"auc": 0.883, "accuracy": 0.81},
            "gain": {"auc": 0.115, "accuracy": 0.1},
        }
    return {
        "run_id": run_id,
        "federation": "heart-demo",
        "status": status,
        "error": error,
        "runtime": "simulation",
        "task": "heart",
        "model": "logistic",
        "strategy": "fedavg",
        "strategy_params": {},
        "rounds": rounds,
        "local_epochs": 1,
        "min_hospitals": 2,
        "seed": 0,
        "started_at": "2026-12-03T16:40:00+00:00",
        "finished_at": "2026-12-03T16:40:21+00:00",
        "hospitals": {name: HOSPITALS.get(name, {"rows": 80}) for name in hospitals},
        "results": results,
        "security": {"tls": False, "node_authentication": False},
        "versions": {
            "fedcluster": "0.1.0",
            "flwr": "1.42.0",
            "torch": "2.13.0",
            "python": "3.11.7",
        },
        "seconds": {"total": 21.3, "per_round": 0.4},
    }


def make_run(
    runs_dir: Path,
    *,
    run_id: str = "20261203-164000-heart-demo",
    hospitals: list[str] | None = None,
    rounds: int = 5,
    recorded_rounds: int | None = None,
    failures: dict[int, dict[str, str]] | None = None,
    summary_changes: dict[str, Any] | None = None,
    write_summary: bool = True,
) -> Path:
    """Write a run folder and return it.

    `recorded_rounds` below `rounds` imitates a run that stopped early;
    `failures` maps a round to the hospitals that did not answer in it.
    """
    hospitals = list(HOSPITALS) if hospitals is None else hospitals
    recorded = rounds if recorded_rounds is None else recorded_rounds
    failures = failures or {}
    run_dir = runs_dir / run_id
    run_dir.mkdir(parents=True)

    lines = [
        round_line(r, hospitals, failures=failures.get(r)) for r in range(recorded + 1)
    ]
    (run_dir / "metrics.jsonl").write_text(
        "".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8"
    )
    if write_summary:
        content = summary(run_id, hospitals, rounds=rounds)
        content.update(summary_changes or {})
        (run_dir / "summary.json").write_text(json.dumps(content), encoding="utf-8")
    (run_dir / "federation.toml").write_text('name = "heart-demo"\n', "utf-8")
    return run_dir

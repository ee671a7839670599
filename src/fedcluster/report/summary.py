"""`summary.json`: the outcome of a run, with its baselines side by side.

Built from what the run folder already holds (metrics.jsonl, sites.json,
baselines.json), so any process can rebuild it: the ServerApp at the end of a
run, or a later command after a crash.
"""

from __future__ import annotations

import json
import platform
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from fedcluster.federation.model import Federation
from fedcluster.report import store
from fedcluster.report.egress import bytes_summary
from fedcluster.report.options_summary import add_options

RESULT_KEYS = ("auc", "accuracy")


def build_summary(
    run_dir: Path,
    federation: Federation,
    *,
    status: str,
    error: str | None = None,
    started_at: datetime | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    metrics = store.read_metrics(run_dir)
    sites = _read_json(run_dir / "sites.json")
    baselines = _read_json(run_dir / "baselines.json")
    finished = datetime.now(UTC)
    previous = store.read_summary(run_dir) or {}
    started_text = (
        started_at.isoformat(timespec="seconds")
        if started_at
        else previous.get("started_at")
    )

    final = metrics[-1] if metrics else {}
    trained = [line for line in metrics if line.get("round", 0) > 0]
    per_round = (
        sum(float(line.get("seconds", 0.0)) for line in trained) / len(trained)
        if trained
        else None
    )
    total = (
        (finished - datetime.fromisoformat(started_text)).total_seconds()
        if started_text
        else None
    )

    summary: dict[str, Any] = {
        "run_id": run_dir.name,
        "federation": federation.name,
        "status": status,
        "error": error,
        "runtime": federation.runtime,
        "task": federation.task.name,
        "model": federation.task.params.get("model", None),
        "strategy": federation.strategy.name,
        "strategy_params": federation.strategy.model_dump(exclude={"name"}),
        "rounds": federation.rounds,
        "rounds_completed": max((line["round"] for line in metrics), default=0),
        "local_epochs": federation.local_epochs,
        "min_hospitals": federation.min_hospitals,
        "seed": federation.seed,
        "started_at": started_text,
        "finished_at": finished.isoformat(timespec="seconds"),
        "hospitals": _hospitals(federation, sites),
        "results": _results(federation, final, baselines),
        "security": security_settings(federation),
        "versions": versions(),
        "seconds": {"total": total, "per_round": per_round},
        "bytes": bytes_summary(metrics, federation.traffic),
    }
    # Differential privacy, secure and robust aggregation, personalisation.
    add_options(summary, federation, metrics, baselines)
    if extra:
        summary.update(extra)
    return summary


def write_summary(run_dir: Path, summary: dict[str, Any]) -> Path:
    path = run_dir / store.SUMMARY
    store.write_json(path, summary)
    return path


def security_settings(federation: Federation) -> dict[str, Any]:
    deployed = federation.runtime != "simulation"
    return {
        "tls": deployed,
        "node_authentication": deployed,
        "transport": "TLS between every SuperNode and the SuperLink"
        if deployed
        else "none: simulated on one machine, nothing crosses a network",
    }


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in ("fedcluster", "flwr", "torch", "numpy", "pandas"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return found


def _hospitals(federation: Federation, sites: dict[str, Any]) -> dict[str, Any]:
    described: dict[str, Any] = {}
    for hospital in federation.hospitals:
        record = sites.get(hospital.name, {})
        profile = record.get("profile") or {}
        labels = profile.get("labels", {})
        total = sum(labels.values()) if labels else 0
        described[hospital.name] = {
            "rows": profile.get("rows"),
            "train": profile.get("train"),
            "test": profile.get("test"),
            "positive_rate": labels.get("1", 0) / total if total else None,
            "excluded": record.get("excluded"),
        }
    return described


def _results(
    federation: Federation, final: dict[str, Any], baselines: dict[str, Any]
) -> dict[str, Any]:
    federated = final.get("hospitals", {})
    local = baselines.get("local", {})
    local_on_pooled = baselines.get("local_on_pooled", {})
    centralized = baselines.get("centralized", {})

    results: dict[str, Any] = {}
    for hospital in federation.hospitals:
        name = hospital.name
        entry: dict[str, Any] = {}
        if name in local:
            entry["local"] = _pick(local[name])
        if name in federated:
            entry["federated"] = _pick(federated[name])
        if name in centralized.get("hospitals", {}):
            entry["centralized"] = _pick(centralized["hospitals"][name])
        if name in local_on_pooled:
            entry["local_on_pooled"] = _pick(local_on_pooled[name])
        _add_gain(entry)
        results[name] = entry

    pooled: dict[str, Any] = {}
    if local_on_pooled:
        pooled["local"] = {
            key: _mean([m.get(key) for m in local_on_pooled.values()])
            for key in RESULT_KEYS
        }
    if final.get("pooled"):
        pooled["federated"] = _pick(final["pooled"])
    if centralized.get("pooled"):
        pooled["centralized"] = _pick(centralized["pooled"])
    _add_gain(pooled)
    results["pooled"] = pooled
    return results


def _pick(metrics: dict[str, Any]) -> dict[str, Any]:
    return {key: metrics.get(key) for key in RESULT_KEYS}


def _add_gain(entry: dict[str, Any]) -> None:
    if "local" in entry and "federated" in entry:
        entry["gain"] = {
            key: _difference(entry["federated"].get(key), entry["local"].get(key))
            for key in RESULT_KEYS
        }


def _difference(a: Any, b: Any) -> float | None:
    if a is None or b is None:
        return None
    return float(a) - float(b)


def _mean(values: list[Any]) -> float | None:
    numbers = [float(v) for v in values if v is not None and v == v]
    return sum(numbers) / len(numbers) if numbers else None


def _read_json(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document

"""One folder per run: metrics, checkpoints, the final model and the summary.

Everything is written so that a crash never leaves a half-written file:
whole files are written to a temporary name and renamed into place, and
`metrics.jsonl` only ever grows by complete lines. See docs/run-store.md.
"""

from __future__ import annotations

import json
import math
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fedcluster.errors import RunError

SUMMARY = "summary.json"
METRICS = "metrics.jsonl"
FEDERATION_COPY = "federation.toml"
MODEL = "model.pt"
CHECKPOINTS = "checkpoints"


def new_run_id(federation_name: str, now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    slug = re.sub(r"[^a-z0-9]+", "-", federation_name.lower()).strip("-") or "run"
    return f"{stamp}-{slug}"


def create_run_dir(runs_dir: Path, federation_name: str) -> Path:
    """A new, empty run folder with a unique id."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    base = new_run_id(federation_name)
    for attempt in range(100):
        run_id = base if attempt == 0 else f"{base}-{attempt + 1}"
        try:
            (runs_dir / run_id).mkdir()
        except FileExistsError:
            continue
        return runs_dir / run_id
    raise RunError(f"{runs_dir}: cannot create a new run folder; clean up old runs")


def find_run(runs_dir: Path, run_id: str) -> Path:
    """The folder of run `run_id` (an id, an unambiguous prefix, or a path)."""
    candidate = Path(run_id)
    if (candidate / SUMMARY).exists() or (candidate / METRICS).exists():
        return candidate
    if (runs_dir / run_id).is_dir():
        return runs_dir / run_id
    matches = sorted(p for p in runs_dir.glob(f"{run_id}*") if p.is_dir())
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise RunError(
            f"no run {run_id!r} in {runs_dir}; list runs with `fedcluster runs`"
        )
    raise RunError(
        f"{run_id!r} matches {len(matches)} runs in {runs_dir}; give more of the id"
    )


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def write_json(path: Path, document: Any) -> None:
    text = json.dumps(clean_floats(document), indent=2, sort_keys=False)
    write_atomic(path, (text + "\n").encode())


def append_metrics(run_dir: Path, line: dict[str, Any]) -> None:
    """Append one round's line to metrics.jsonl, as a single write."""
    text = json.dumps(clean_floats(line), separators=(",", ":")) + "\n"
    with open(run_dir / METRICS, "a", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    """Every complete line of metrics.jsonl, in round order, one per round."""
    path = run_dir / METRICS
    if not path.exists():
        return []
    by_round: dict[int, dict[str, Any]] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except json.JSONDecodeError:
            continue  # a line cut short by a crash
        # After a resume a round may be recorded again; the later line wins.
        by_round[int(line["round"])] = line
    return [by_round[r] for r in sorted(by_round)]


def read_summary(run_dir: Path) -> dict[str, Any] | None:
    path = run_dir / SUMMARY
    if not path.exists():
        return None
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def clean_floats(value: Any) -> Any:
    """NaN and infinities become null: JSON has no word for them."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: clean_floats(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [clean_floats(item) for item in value]
    return value

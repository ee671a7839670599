"""Reads a run folder back for the reports, whatever state the run left it in.

A run can have finished, failed half way, or still be going. The reports show
what exists, so reading never fails on a missing `summary.json` or a truncated
last line of `metrics.jsonl`: each such gap becomes a sentence in `problems`,
which the page shows to the reader. The layout read here is described in
docs/run-store.md.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fedcluster.errors import RunError

logger = logging.getLogger(__name__)

POOLED = "pooled"


@dataclass(frozen=True)
class RoundRecord:
    """One line of `metrics.jsonl`: the global model after `round`."""

    round: int
    hospitals: dict[str, dict[str, float]]
    pooled: dict[str, float]
    contributors: list[str]
    failures: dict[str, str]
    offline: list[str]
    seconds: float | None
    bytes_sent: int | None
    bytes_received: int | None
    bytes_by_hospital: dict[str, dict[str, int]]


@dataclass(frozen=True)
class RunView:
    """Everything the reports need from one run folder."""

    run_id: str
    run_dir: Path
    summary: dict[str, Any]
    rounds: list[RoundRecord]
    problems: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return str(self.summary.get("status") or "unknown")

    @property
    def error(self) -> str | None:
        error = self.summary.get("error")
        return str(error) if error else None

    @property
    def planned_rounds(self) -> int | None:
        return as_int(self.summary.get("rounds"))

    @property
    def trained_rounds(self) -> int:
        """Rounds whose model was evaluated (line 0 is the untrained model)."""
        return max((record.round for record in self.rounds), default=0)

    @property
    def hospitals(self) -> list[str]:
        """Hospital names: the summary's order first, then any only in metrics."""
        names = list(as_dict(self.summary.get("hospitals")))
        names += [n for n in as_dict(self.summary.get("results")) if n != POOLED]
        for record in self.rounds:
            names += list(record.hospitals)
            names += record.contributors
            names += list(record.failures)
            names += record.offline
        return list(dict.fromkeys(names))

    def label(self) -> str:
        """A short name for this run in a comparison: strategy and runtime."""
        strategy = str(self.summary.get("strategy") or "?")
        runtime = str(self.summary.get("runtime") or "?")
        return f"{self.run_id} ({strategy}, {runtime})"


def as_dict(value: object) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def as_float(value: object) -> float | None:
    """`value` as a float when it is a number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def as_int(value: object) -> int | None:
    number = as_float(value)
    return None if number is None else int(number)


def read_run(run_dir: Path) -> RunView:
    """Read a run folder; gaps become `problems` instead of exceptions."""
    if not run_dir.is_dir():
        raise RunError(f"run folder {run_dir} does not exist")
    problems: list[str] = []
    summary = _read_summary(run_dir / "summary.json", problems)
    rounds = _read_metrics(run_dir / "metrics.jsonl", problems)
    run_id = str(summary.get("run_id") or run_dir.name)

    planned = as_int(summary.get("rounds"))
    trained = max((record.round for record in rounds), default=0)
    if planned is not None and trained < planned:
        problems.append(
            f"Only {trained} of {planned} rounds were recorded; "
            "the charts stop where the run stopped."
        )
    return RunView(run_id, run_dir, summary, rounds, problems)


def _read_summary(path: Path, problems: list[str]) -> dict[str, Any]:
    if not path.exists():
        problems.append(
            "summary.json is missing: the run is still going or stopped before "
            "it finished, so final results and settings are not shown."
        )
        return {}
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        logger.debug("cannot read %s: %s", path, error)
        problems.append(f"summary.json cannot be read ({error}).")
        return {}
    if not isinstance(summary, dict):
        problems.append("summary.json does not hold a JSON object.")
        return {}
    return summary


def _read_metrics(path: Path, problems: list[str]) -> list[RoundRecord]:
    if not path.exists():
        problems.append("metrics.jsonl is missing: no round was recorded.")
        return []
    by_round: dict[int, RoundRecord] = {}
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = _round_record(json.loads(line))
        except ValueError:
            problems.append(
                f"Line {number} of metrics.jsonl is not a round record "
                "and was skipped (the run may have stopped while writing it)."
            )
            continue
        by_round[record.round] = record
    return [by_round[r] for r in sorted(by_round)]


def _round_record(line: object) -> RoundRecord:
    raw = as_dict(line)
    round_number = as_int(raw.get("round"))
    if round_number is None or round_number < 0:
        raise ValueError("no round number")
    return RoundRecord(
        round=round_number,
        hospitals={
            str(name): _numbers(values)
            for name, values in as_dict(raw.get("hospitals")).items()
        },
        pooled=_numbers(raw.get("pooled")),
        contributors=[str(name) for name in raw.get("contributors") or []],
        failures={
            str(name): str(reason)
            for name, reason in as_dict(raw.get("failures")).items()
        },
        offline=[str(name) for name in raw.get("offline") or []],
        seconds=as_float(raw.get("seconds")),
        bytes_sent=as_int(raw.get("bytes_sent")),
        bytes_received=as_int(raw.get("bytes_received")),
        bytes_by_hospital={
            str(name): {k: int(v) for k, v in _numbers(traffic).items()}
            for name, traffic in as_dict(raw.get("bytes_by_hospital")).items()
        },
    )


def _numbers(values: object) -> dict[str, float]:
    numbers = {key: as_float(value) for key, value in as_dict(values).items()}
    return {key: value for key, value in numbers.items() if value is not None}

"""Checkpoints: everything the server needs to continue a run after a crash.

`checkpoints/round-NNN.pt` holds the global model after round NNN, the
strategy's own state (server-side optimiser moments, for example), the
federation-wide statistics and the bookkeeping of the round whose evaluation
is still outstanding. Files are written atomically; the newest complete one
is the one a resumed run continues from.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fedcluster.report.store import CHECKPOINTS, write_atomic

_NAME = re.compile(r"^round-(\d{3,})\.pt$")


@dataclass
class Checkpoint:
    round: int
    global_model: dict[str, NDArray[Any]]
    statistics: dict[str, NDArray[Any]]
    strategy_state: dict[str, Any] = field(default_factory=dict)
    pending: dict[str, Any] = field(default_factory=dict)
    hospitals: dict[str, Any] = field(default_factory=dict)


def save_checkpoint(run_dir: Path, checkpoint: Checkpoint) -> Path:
    import torch

    path = run_dir / CHECKPOINTS / f"round-{checkpoint.round:03d}.pt"
    buffer = io.BytesIO()
    torch.save(
        {
            "round": checkpoint.round,
            "global_model": _tensors(checkpoint.global_model),
            "statistics": _tensors(checkpoint.statistics),
            "strategy_state": _tensors_deep(checkpoint.strategy_state),
            "pending": checkpoint.pending,
            "hospitals": checkpoint.hospitals,
        },
        buffer,
    )
    write_atomic(path, buffer.getvalue())
    return path


def latest_checkpoint(run_dir: Path) -> Checkpoint | None:
    """The newest checkpoint that loads; None when there is none."""
    import torch

    folder = run_dir / CHECKPOINTS
    if not folder.is_dir():
        return None
    candidates = sorted(
        (int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME.match(p.name))
    )
    for _, path in reversed(candidates):
        try:
            raw = torch.load(path, weights_only=True)
        except Exception:  # a torn or foreign file: fall back to an older one
            continue
        return Checkpoint(
            round=int(raw["round"]),
            global_model=_arrays(raw["global_model"]),
            statistics=_arrays(raw["statistics"]),
            strategy_state=_arrays_deep(raw["strategy_state"]),
            pending=raw["pending"],
            hospitals=raw["hospitals"],
        )
    return None


def _tensors(arrays: dict[str, NDArray[Any]]) -> dict[str, Any]:
    import torch

    return {k: torch.from_numpy(np.array(v, copy=True)) for k, v in arrays.items()}


def _arrays(tensors: dict[str, Any]) -> dict[str, NDArray[Any]]:
    return {k: v.numpy() for k, v in tensors.items()}


def _tensors_deep(value: Any) -> Any:
    import torch

    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.array(value, copy=True))
    if isinstance(value, dict):
        return {k: _tensors_deep(v) for k, v in value.items()}
    return value


def _arrays_deep(value: Any) -> Any:
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):
        return value.numpy()
    if isinstance(value, dict):
        return {k: _arrays_deep(v) for k, v in value.items()}
    return value

"""Splitting one table into simulated hospitals, written once to disk.

The split itself is done by `flwr-datasets` partitioners on an in-memory
`datasets.Dataset` holding only a row number and, where needed, the label or
the hospital column; the rows are then taken from the original table by
number, so every value reaches the hospital's file exactly as it was read.
`IidPartitioner` deals rows out in file order, so rows are shuffled with the
seed first.

Each hospital's rows go to its own CSV in a cache folder named after the
table's content and the split settings: a second run with the same table and
settings reuses the files without importing `datasets`. The folder is built
under a temporary name and renamed into place, so a reader sees all the files
or none. Every simulated hospital's ClientApp then reads only its own file,
as a real hospital's would.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fedcluster.data.table import read_table
from fedcluster.errors import FederationFileError, SiteDataError

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
_ROW = "__row__"


@dataclass(frozen=True)
class SplitPlan:
    """How to split a table: `partition` is natural, iid or dirichlet."""

    partition: str
    hospitals: int | None = None
    by: str | None = None
    alpha: float | None = None
    # The 0/1 label: skewed by dirichlet; for the others only counted.
    label: str | None = None
    min_rows: int = 10
    seed: int = 0


@dataclass(frozen=True)
class SplitHospital:
    """One simulated hospital: its name, its own file, and what it holds."""

    name: str
    path: Path
    rows: int
    label_counts: dict[str, int]


def split_table(frame: pd.DataFrame, plan: SplitPlan) -> list[tuple[str, pd.DataFrame]]:
    """The table's rows dealt out to hospitals as (name, rows) pairs.

    Every row goes to exactly one hospital. Raises `FederationFileError` when
    the split cannot give each hospital `min_rows` rows.
    """
    if plan.partition == "natural":
        parts = _natural(frame, plan)
    elif plan.partition == "iid":
        parts = _iid(frame, plan)
    elif plan.partition == "dirichlet":
        parts = _dirichlet(frame, plan)
    else:
        raise FederationFileError(
            f"simulation.partition {plan.partition!r} is unknown; "
            "use natural, iid or dirichlet"
        )
    _warn_single_class(parts, plan)
    return parts


def materialise_split(
    source: Path, plan: SplitPlan, *, cache_dir: Path
) -> list[SplitHospital]:
    """Each hospital's file for splitting `source` by `plan`, written once."""
    content = _read_bytes(source)
    key = hashlib.sha256(
        content + json.dumps(asdict(plan), sort_keys=True).encode()
    ).hexdigest()[:12]
    folder = cache_dir / f"{_safe(source.stem)}-{plan.partition}-{key}"
    if (folder / MANIFEST).exists():
        log.debug("reusing the split in %s", folder)
        return _read_manifest(folder)

    frame = _read_source(source)
    parts = split_table(frame, plan)
    building = folder.with_name(f".{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    entries = []
    width = len(str(len(parts)))
    for index, (name, rows) in enumerate(parts, start=1):
        # Numbered names are file names already; natural ones may not be.
        file_name = (
            f"{index:0{width}d}-{_safe(name)}.csv"
            if plan.partition == "natural"
            else f"{name}.csv"
        )
        rows.to_csv(building / file_name, index=False)
        entries.append(
            {
                "name": name,
                "file": file_name,
                "rows": len(rows),
                "labels": _label_counts(rows, plan.label),
            }
        )
    manifest = {"source": str(source), "plan": asdict(plan), "hospitals": entries}
    (building / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    try:
        building.rename(folder)
    except OSError:
        # Another process published the same split first; theirs is identical.
        shutil.rmtree(building, ignore_errors=True)
    log.info("split %s into %d hospitals in %s", source, len(parts), folder)
    return _read_manifest(folder)


# --- the partitioners -------------------------------------------------------


def _natural(frame: pd.DataFrame, plan: SplitPlan) -> list[tuple[str, pd.DataFrame]]:
    from datasets import Dataset
    from flwr_datasets.partitioner import NaturalIdPartitioner

    by = str(plan.by)
    _require_column(frame, by, "by")
    empty = int(frame[by].isna().sum())
    if empty:
        raise FederationFileError(
            f"simulation.by: column {by!r} is empty in {empty} row(s); "
            "fill in each row's hospital or drop those rows"
        )
    ids = pd.DataFrame({by: frame[by].astype(str), _ROW: np.arange(len(frame))})
    partitioner = NaturalIdPartitioner(partition_by=by)
    partitioner.dataset = Dataset.from_pandas(ids, preserve_index=False)
    named = {
        str(partitioner.partition_id_to_natural_id[pid]): _rows_of(partitioner, pid)
        for pid in range(partitioner.num_partitions)
    }
    parts = []
    for name in sorted(named):
        rows = frame.iloc[named[name]].drop(columns=[by])
        if len(rows) < plan.min_rows:
            log.warning(
                "left out %r: %d row(s), fewer than simulation.min_rows = %d",
                name,
                len(rows),
                plan.min_rows,
            )
            continue
        parts.append((name, rows))
    return parts


def _iid(frame: pd.DataFrame, plan: SplitPlan) -> list[tuple[str, pd.DataFrame]]:
    from datasets import Dataset
    from flwr_datasets.partitioner import IidPartitioner

    count = _hospital_count(plan)
    if len(frame) // count < plan.min_rows:
        raise FederationFileError(
            f"simulation: {len(frame)} rows cannot give {count} hospitals "
            f"{plan.min_rows} rows each (min_rows); lower simulation.hospitals"
        )
    # IidPartitioner deals rows out in order; shuffle first, with the seed.
    shuffled = np.random.default_rng(plan.seed).permutation(len(frame))
    partitioner = IidPartitioner(num_partitions=count)
    partitioner.dataset = Dataset.from_dict({_ROW: shuffled})
    return [
        (_numbered(pid, count), frame.iloc[_rows_of(partitioner, pid)])
        for pid in range(count)
    ]


def _dirichlet(frame: pd.DataFrame, plan: SplitPlan) -> list[tuple[str, pd.DataFrame]]:
    from datasets import Dataset
    from flwr_datasets.partitioner import DirichletPartitioner

    count = _hospital_count(plan)
    label = str(plan.label)
    _require_column(frame, label, "label")
    empty = int(frame[label].isna().sum())
    if empty:
        raise FederationFileError(
            f"simulation: the label {label!r} is empty in {empty} row(s); "
            "fill it in or drop those rows"
        )
    if len(frame) // count < plan.min_rows:
        raise FederationFileError(
            f"simulation: {len(frame)} rows cannot give {count} hospitals "
            f"{plan.min_rows} rows each (min_rows); lower simulation.hospitals"
        )
    ids = pd.DataFrame({label: frame[label].to_numpy(), _ROW: np.arange(len(frame))})
    # No minimum here: with many hospitals and a small alpha, Flower's redraws
    # rarely give every hospital enough rows; small ones are topped up below.
    partitioner = DirichletPartitioner(
        num_partitions=count,
        partition_by=label,
        alpha=float(plan.alpha or 0.0),
        min_partition_size=0,
        self_balancing=False,
        shuffle=True,
        seed=plan.seed,
    )
    partitioner.dataset = Dataset.from_pandas(ids, preserve_index=False)
    rows = [_rows_of(partitioner, pid) for pid in range(count)]
    _top_up(rows, plan)
    return [(_numbered(pid, count), frame.iloc[rows[pid]]) for pid in range(count)]


def _top_up(rows: list[list[int]], plan: SplitPlan) -> None:
    """Give every hospital `min_rows` rows, taken at random from the largest.

    A Dirichlet draw over many hospitals leaves some with a handful of rows or
    none, too few to hold out a test set. Moving rows one at a time from the
    largest hospital changes only those small hospitals and keeps every row in
    exactly one hospital.
    """
    rng = np.random.default_rng([plan.seed, 1])
    short = [pid for pid, part in enumerate(rows) if len(part) < plan.min_rows]
    moved = 0
    for pid in short:
        while len(rows[pid]) < plan.min_rows:
            donor = max(range(len(rows)), key=lambda other: len(rows[other]))
            taken = rows[donor].pop(int(rng.integers(len(rows[donor]))))
            rows[pid].append(taken)
            moved += 1
    if short:
        log.warning(
            "the Dirichlet draw gave %d of %d hospitals fewer than "
            "simulation.min_rows = %d rows; %d rows were moved to them at random "
            "from the largest hospitals",
            len(short),
            len(rows),
            plan.min_rows,
            moved,
        )


# --- helpers ----------------------------------------------------------------


def _rows_of(partitioner: Any, partition_id: int) -> list[int]:
    partition = partitioner.load_partition(partition_id)
    return [int(row) for row in partition[_ROW]]


def _hospital_count(plan: SplitPlan) -> int:
    if plan.hospitals is None or plan.hospitals < 1:
        raise FederationFileError(
            f"simulation.hospitals is missing: partition = '{plan.partition}' "
            "needs how many hospitals to make"
        )
    return plan.hospitals


def _numbered(partition_id: int, count: int) -> str:
    return f"hospital-{partition_id + 1:0{max(3, len(str(count)))}d}"


def _require_column(frame: pd.DataFrame, column: str, key: str) -> None:
    if column not in frame.columns:
        known = ", ".join(repr(str(c)) for c in frame.columns[:8])
        raise FederationFileError(
            f"simulation.{key}: the table has no column {column!r} "
            f"(it has {known}, ...); name one of its columns"
        )


def _label_counts(rows: pd.DataFrame, label: str | None) -> dict[str, int]:
    if label is None or label not in rows.columns:
        return {}
    counts = rows[label].value_counts()
    return {_label_key(value): int(n) for value, n in sorted(counts.items())}


def _label_key(value: Any) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() else str(value)


def _warn_single_class(parts: list[tuple[str, pd.DataFrame]], plan: SplitPlan) -> None:
    label = plan.label
    if label is None or not parts or label not in parts[0][1].columns:
        return
    single = [name for name, rows in parts if rows[label].nunique() < 2]
    if single:
        log.warning(
            "%d of %d simulated hospitals hold only one class of %r (e.g. %s): "
            "they train as usual, but their own AUC is undefined and they count "
            "in the pooled results only; raise simulation.alpha for fewer",
            len(single),
            len(parts),
            label,
            single[0],
        )


def _read_bytes(source: Path) -> bytes:
    try:
        return source.read_bytes()
    except FileNotFoundError:
        raise FederationFileError(
            f"simulation.data: {source}: no such file; check the [simulation] data path"
        ) from None
    except OSError as error:
        raise FederationFileError(
            f"simulation.data: {source}: cannot read it: {error}"
        ) from error


def _read_source(source: Path) -> pd.DataFrame:
    try:
        frame = read_table("simulation", source)
    except SiteDataError as error:
        raise FederationFileError(f"simulation.data: {error.reason}") from error
    if len(frame) == 0:
        raise FederationFileError(f"simulation.data: {source}: the table has no rows")
    return frame


def _read_manifest(folder: Path) -> list[SplitHospital]:
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    return [
        SplitHospital(
            name=entry["name"],
            path=folder / entry["file"],
            rows=int(entry["rows"]),
            label_counts=dict(entry["labels"]),
        )
        for entry in manifest["hospitals"]
    ]


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "table"

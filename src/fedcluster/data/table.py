"""Reading one hospital's CSV or Parquet file and checking it against a schema.

Every problem is reported as a `SiteDataError` naming the hospital, the file,
the column and how many rows are affected, so the person who owns the file
knows exactly what to fix.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from fedcluster.errors import SiteDataError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TableSchema:
    """The columns a hospital's table must have, and what they mean."""

    features: tuple[str, ...]
    label: str
    # Columns the file may carry that are never read (an internal id, say).
    ignored: tuple[str, ...] = ()
    # Values that mean "not measured" in a column, e.g. a cholesterol of 0.
    missing_codes: dict[str, tuple[float, ...]] = field(default_factory=dict)


def read_table(hospital: str, path: Path) -> pd.DataFrame:
    """Read `path` (CSV or Parquet) for `hospital`, or raise a one-line error."""
    suffix = path.suffix.lower()
    if not path.exists():
        raise SiteDataError(
            hospital, f"{path}: no such file; check the hospital's `data` path"
        )
    try:
        if suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        elif suffix in (".csv", ".txt"):
            frame = pd.read_csv(path)
        else:
            raise SiteDataError(
                hospital, f"{path}: unknown file type {suffix!r}; use .csv or .parquet"
            )
    except SiteDataError:
        raise
    except pd.errors.EmptyDataError:
        raise SiteDataError(
            hospital, f"{path}: the file is empty; export the table with a header"
        ) from None
    except (pd.errors.ParserError, ValueError, OSError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error) else ""
        raise SiteDataError(
            hospital,
            f"{path}: cannot be parsed ({first_line}); "
            "export it again as a comma-separated table with one header row",
        ) from error
    log.debug("read %d rows from %s for %s", len(frame), path, hospital)
    return frame


def check_table(
    hospital: str, path: Path, frame: pd.DataFrame, schema: TableSchema
) -> pd.DataFrame:
    """Check `frame` against `schema`; return the features and label as floats.

    Missing feature values stay as NaN (they are imputed later, with an
    indicator); anything else that is wrong raises `SiteDataError`.
    """
    columns = [str(column) for column in frame.columns]
    wanted = [*schema.features, schema.label]
    missing = [column for column in wanted if column not in columns]
    if missing:
        raise SiteDataError(
            hospital,
            f"{path}: {_columns(missing)} missing (all {len(frame)} rows); "
            "add it or remove it from the task's `features`",
        )
    extra = [c for c in columns if c not in wanted and c not in schema.ignored]
    if extra:
        raise SiteDataError(
            hospital,
            f"{path}: unexpected {_columns(extra)} (all {len(frame)} rows); "
            "remove it from the file "
            "or list it in the task's `ignore_columns`",
        )
    if len(frame) == 0:
        raise SiteDataError(hospital, f"{path}: the file has no rows")

    numeric = pd.DataFrame(index=frame.index)
    for column in wanted:
        raw = frame[column]
        values = pd.to_numeric(raw, errors="coerce")
        bad = values.isna() & raw.notna()
        if bad.any():
            example = str(raw[bad].iloc[0])[:20]
            raise SiteDataError(
                hospital,
                f"{path}: column {column!r} has {int(bad.sum())} non-numeric "
                f"value(s) such as {example!r}; encode it as numbers",
            )
        numeric[column] = values.astype("float64")

    label = numeric[schema.label]
    if label.isna().any():
        raise SiteDataError(
            hospital,
            f"{path}: column {schema.label!r} (the label) is empty in "
            f"{int(label.isna().sum())} row(s); fill it in or drop those rows",
        )
    outside = ~label.isin([0.0, 1.0])
    if outside.any():
        raise SiteDataError(
            hospital,
            f"{path}: column {schema.label!r} (the label) has "
            f"{int(outside.sum())} value(s) other than 0 or 1; "
            "recode it as 0 (no disease) / 1 (disease)",
        )

    for column, codes in schema.missing_codes.items():
        if column in numeric:
            numeric.loc[numeric[column].isin(codes), column] = np.nan
    return numeric


def _columns(columns: list[str]) -> str:
    quoted = ", ".join(repr(column) for column in columns)
    return f"column {quoted}" if len(columns) == 1 else f"columns {quoted}"

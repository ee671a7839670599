"""Reading `federation.toml` into a `Federation`, with one-line errors.

Relative paths in the file (hospital data, runs and state folders) are taken
relative to the folder holding the file, so a federation folder can be moved
or shared as a whole.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from fedcluster.errors import FederationFileError
from fedcluster.federation.model import Federation

# pydantic names the union member of [strategy] in its error locations.
STRATEGY_NAMES = ("fedavg", "fedprox", "fedadam", "fedmedian", "fedtrimmedavg", "krum")

_FIXES = {
    "missing": "add this key",
    "extra_forbidden": "remove it or check its spelling",
    "int_parsing": "write a whole number",
    "float_parsing": "write a number",
    "string_type": "write a quoted string",
    "bool_parsing": "write true or false",
    "list_type": "write a list, or repeat the [[table]]",
    "path_type": "write the file path as a quoted string",
    "union_tag_invalid": "use one of the names listed",
    "greater_than_equal": "raise the value",
    "greater_than": "raise the value",
    "less_than_equal": "lower the value",
    "less_than": "lower the value",
    "string_pattern_mismatch": "use letters, digits, spaces, '.', '_' or '-'",
}


def load_federation(path: Path | str) -> Federation:
    """Read and validate the federation file at `path`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FederationFileError(
            f"{path}: no such federation file; create one with `fedcluster init`"
        ) from None
    except OSError as error:
        raise FederationFileError(f"{path}: cannot read it: {error}") from error
    federation = parse_federation(text, path)

    # A [simulation] table splits one file into hospitals, written once.
    from fedcluster.federation.simulated import with_simulated_hospitals

    try:
        return with_simulated_hospitals(federation)
    except FederationFileError as error:
        raise FederationFileError(f"{path}: {error}") from error


def parse_federation(text: str, path: Path) -> Federation:
    """Validate federation file `text` that was read from `path`."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise FederationFileError(
            f"{path}: not valid TOML ({error}); fix the syntax at that line"
        ) from error

    base = path.resolve().parent
    _resolve_paths(document, base)
    try:
        federation = Federation.model_validate(document)
    except ValidationError as error:
        raise FederationFileError(_describe(path, document, error)) from error
    federation._source = path.resolve()
    return federation


def _resolve_paths(document: dict[str, Any], base: Path) -> None:
    # The defaults too: runs and state live beside the file, not in the cwd.
    for key, default in (("runs_dir", "runs"), ("state_dir", ".fedcluster")):
        value = document.get(key, default)
        if isinstance(value, str):
            document[key] = str(base / value)
    hospitals = document.get("hospital")
    if isinstance(hospitals, list):
        for hospital in hospitals:
            if isinstance(hospital, dict) and isinstance(hospital.get("data"), str):
                hospital["data"] = str(base / hospital["data"])
    simulation = document.get("simulation")
    if isinstance(simulation, dict) and isinstance(simulation.get("data"), str):
        simulation["data"] = str(base / simulation["data"])


def _describe(path: Path, document: dict[str, Any], error: ValidationError) -> str:
    """The first validation problem as `file: key: problem; fix`."""
    first = error.errors()[0]
    location = _key_name(first["loc"], document)
    message = first["msg"]
    if message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    fix = _FIXES.get(first["type"])
    where = f"key {location}: " if location else ""
    line = f"{path}: {where}{message}"
    if fix and fix not in message:
        line += f"; {fix}"
    more = error.error_count() - 1
    if more:
        line += f" (and {more} more problem{'s' if more > 1 else ''})"
    return line


def _key_name(loc: tuple[int | str, ...], document: dict[str, Any]) -> str:
    """`('hospital', 1, 'data')` -> `hospital[1].data (Hungary)`-style names."""
    parts: list[str] = []
    named = ""
    for index, part in enumerate(loc):
        if isinstance(part, int):
            parts[-1] += f"[{part}]"
            parent = loc[index - 1] if index else None
            if parent == "hospital":
                entry = document.get("hospital", [None] * (part + 1))[part]
                if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                    named = f" (hospital {entry['name']!r})"
        elif part in STRATEGY_NAMES:
            # pydantic names the union member; the user wrote [strategy].
            continue
        else:
            parts.append(str(part))
    return ".".join(parts) + named

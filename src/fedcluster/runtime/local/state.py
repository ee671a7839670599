"""The state file of a running local federation, and the hospitals' node ids.

`state.json` lists every process `fedcluster up` started. It is rewritten
atomically after each start, so that if `up` fails half-way, `down` still
finds everything that was started. `registrations.json` maps each hospital to
the Flower node id its public key was registered under; it lives exactly as
long as the SuperLink database it describes.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fedcluster.runtime.local.errors import LocalRuntimeError
from fedcluster.runtime.local.processes import ProcessRecord


class LocalState(BaseModel):
    """What `fedcluster up` started for one federation."""

    model_config = ConfigDict(extra="forbid")

    federation: str
    federation_file: str | None
    superlink_address: str
    started_at: dt.datetime = Field(default_factory=lambda: dt.datetime.now(dt.UTC))
    processes: list[ProcessRecord] = []

    def superlink(self) -> ProcessRecord | None:
        return self.find("superlink", None)

    def supernode(self, hospital: str) -> ProcessRecord | None:
        return self.find("supernode", hospital)

    def find(self, role: str, hospital: str | None) -> ProcessRecord | None:
        for record in self.processes:
            if record.role == role and record.hospital == hospital:
                return record
        return None


class Registration(BaseModel):
    """A hospital's key as the SuperLink knows it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    node_id: int
    public_key: str


def read_state(path: Path) -> LocalState | None:
    """The state at `path`, or None when nothing was started."""
    text = _read(path)
    if text is None:
        return None
    try:
        return LocalState.model_validate_json(text)
    except ValidationError as error:
        raise LocalRuntimeError(
            f"{path}: unreadable state file; stop leftover Flower processes by "
            "hand, then delete it"
        ) from error


def write_state(path: Path, state: LocalState) -> None:
    write_atomically(path, state.model_dump_json(indent=2).encode())


def read_registrations(path: Path) -> dict[str, Registration]:
    """Hospital name -> registration; empty when none were recorded."""
    text = _read(path)
    if text is None:
        return {}
    try:
        raw = json.loads(text)
        return {name: Registration.model_validate(r) for name, r in raw.items()}
    except (ValueError, AttributeError, ValidationError) as error:
        raise LocalRuntimeError(
            f"{path}: unreadable; delete it together with superlink.db beside "
            "it to register every hospital afresh"
        ) from error


def write_registrations(path: Path, registrations: dict[str, Registration]) -> None:
    raw = {name: r.model_dump() for name, r in sorted(registrations.items())}
    write_atomically(path, json.dumps(raw, indent=2).encode())


def write_atomically(path: Path, content: bytes) -> None:
    """Replace `path` with `content` so that readers see old or new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with temporary.open("wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as error:
        raise LocalRuntimeError(f"{path}: cannot read it: {error}") from error

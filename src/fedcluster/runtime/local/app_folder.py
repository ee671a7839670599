"""The Flower app folder that `flwr run` packages and submits to the SuperLink.

`flwr run DIR` zips everything in DIR (a FAB) and needs a `pyproject.toml`
there with `[tool.flwr.app]`. Submitting the repository itself would ship its
tests, docs and virtualenv filter rules, would not work from an installed
package, and would let `flwr run` rewrite the repository's pyproject.toml if it
ever found a legacy federation table in it. So the runtime writes its own
folder holding nothing but a pyproject.toml: the ServerApp and ClientApp are
imported from the fedcluster package installed beside every SuperExec.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import metadata
from pathlib import Path

from fedcluster.runtime.local.state import write_atomically

SERVER_APP = "fedcluster.app.server:app"
CLIENT_APP = "fedcluster.app.client:app"

ConfigValue = str | int | float | bool

# Run config keys the ServerApp reads (see `fedcluster.app.server`). A key
# given to `flwr run --run-config` reaches the app only if the app declares
# it, so each one needs a default here; the values match the ServerApp's own.
RUN_CONFIG_DEFAULTS: Mapping[str, ConfigValue] = {
    "federation-file": "",
    "run-dir": "",
    # The runtime the run was started on; it overrides the file's `runtime`
    # so that summary.json says where the run really happened.
    "runtime": "",
    "resume": False,
    "poll-interval": 0.1,
    # Pack each record's arrays into one Flower Array (see app.packing);
    # false only to measure what packing saves.
    "pack-records": True,
}


def write_app_folder(folder: Path) -> Path:
    """Write (or leave unchanged) the app folder; returns `folder`."""
    try:
        version = metadata.version("fedcluster")
    except metadata.PackageNotFoundError:
        version = "0.0.0"
    lines = [
        "# Written by fedcluster: the Flower app submitted to the local SuperLink.",
        "# It holds no code; both apps are imported from the installed package.",
        "[project]",
        'name = "fedcluster"',
        f"version = {toml_value(version)}",
        'description = "Federated learning across hospitals"',
        "dependencies = []",
        "",
        "[tool.flwr.app]",
        'publisher = "fedcluster"',
        "",
        "[tool.flwr.app.components]",
        f"serverapp = {toml_value(SERVER_APP)}",
        f"clientapp = {toml_value(CLIENT_APP)}",
        "",
        "[tool.flwr.app.config]",
        *(f"{key} = {toml_value(value)}" for key, value in RUN_CONFIG_DEFAULTS.items()),
        "",
    ]
    write_if_changed(folder / "pyproject.toml", "\n".join(lines).encode())
    return folder


def write_config_file(path: Path, values: Mapping[str, ConfigValue]) -> Path:
    """A TOML file of flat `key = value` lines, for `--run-config`/`--node-config`.

    A file rather than a `'k="v"'` string on the command line, because Flower
    splits that string with a pattern that cannot express every path.
    """
    lines = [f"{key} = {toml_value(value)}" for key, value in values.items()]
    write_if_changed(path, ("\n".join(lines) + "\n").encode())
    return path


def toml_value(value: ConfigValue) -> str:
    """A TOML literal for a string, number or boolean."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    escaped = []
    for char in value:
        if char in ('"', "\\"):
            escaped.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            escaped.append(f"\\u{ord(char):04x}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'


def write_if_changed(path: Path, content: bytes) -> None:
    """Write `content` unless `path` already holds exactly that."""
    try:
        if path.read_bytes() == content:
            return
    except FileNotFoundError:
        pass
    write_atomically(path, content)

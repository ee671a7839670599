"""The environment and executables of every Flower process we start.

Flower reports usage and checks for updates over the network unless told not
to, and keeps its configuration under `~/.flwr` unless `FLWR_HOME` says
otherwise. Every process started here therefore gets an environment that
switches both off and points `FLWR_HOME` into the federation's state folder,
so nothing is written outside it and nothing leaves the machine unasked.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from fedcluster.runtime.local.errors import LocalRuntimeError

SUPEREXEC_POLL_VARIABLE = "FLWR_SUPEREXEC_TASK_POLL_INTERVAL"


def bin_folder() -> Path:
    """The folder holding this Python's console scripts (the venv's `bin`)."""
    return Path(sys.executable).parent


def executable(name: str) -> str:
    """The absolute path of Flower's console script `name`."""
    beside_python = bin_folder() / name
    if beside_python.is_file() and os.access(beside_python, os.X_OK):
        return str(beside_python)
    found = shutil.which(name)
    if found is None:
        raise LocalRuntimeError(
            f"`{name}` not found next to {sys.executable} nor on PATH; "
            "install fedcluster with its dependencies (`pip install fedcluster`)"
        )
    return found


def flower_environment(flwr_home: Path) -> dict[str, str]:
    """The environment for one Flower process whose home is `flwr_home`."""
    environment = dict(os.environ)
    environment.update(
        {
            "FLWR_HOME": str(flwr_home),
            "FLWR_TELEMETRY_ENABLED": "0",
            "FLWR_DISABLE_UPDATE_CHECK": "1",
            "HF_DATASETS_OFFLINE": "1",
            "PYTHONUNBUFFERED": "1",
            # A SuperExec launches `flwr-serverapp` / `flwr-clientapp` by name,
            # so our venv's scripts must come first on PATH.
            "PATH": os.pathsep.join(
                [str(bin_folder()), environment.get("PATH", os.defpath)]
            ),
        }
    )
    # A SuperExec looks for new work once a second by default, and every
    # message of every round waits for that poll: look more often.
    environment.setdefault(SUPEREXEC_POLL_VARIABLE, "0.1")
    return environment

"""The one place `kubectl`, `liqoctl` and `flwr` are run from.

Each tool is looked up on PATH (so tests can put recorded stand-ins first),
then, for `flwr`, next to the running Python. A failing call becomes a
`ClusterError` with one line: which command, the tool's last words, and what
to check. Output that should be JSON is parsed here too, skipping any warning
lines a tool prints before it (liqoctl does).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fedcluster.errors import FedclusterError

logger = logging.getLogger(__name__)

_INSTALL_HINTS = {
    "kubectl": "install kubectl (https://kubernetes.io/docs/tasks/tools/)",
    "liqoctl": "install liqoctl (https://docs.liqo.io/en/stable/installation/liqoctl.html)",
    "flwr": "install fedcluster's dependencies (pip install -e .)",
}


class ClusterError(FedclusterError):
    """A cluster tool is missing, failed, or said something we cannot read.

    Exit code 6, apart from a wrong federation file (2) or a failed run (4).
    """

    exit_code = 6


def find_tool(name: str) -> str:
    """The path of `name`: on PATH first, then beside this Python."""
    found = shutil.which(name)
    if found:
        return found
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    raise ClusterError(f"{name} not found on PATH; {_INSTALL_HINTS.get(name, '')}")


@dataclass(frozen=True)
class Tools:
    """Runs the cluster tools against one kubeconfig context (None: current)."""

    context: str | None = None

    def kubectl(
        self, *args: str, stdin: str | None = None, timeout: float = 120.0
    ) -> str:
        return self.run(
            "kubectl", [*self._context(), *args], stdin=stdin, timeout=timeout
        )

    def kubectl_json(self, *args: str, timeout: float = 120.0) -> Any:
        return parse_json(self.kubectl(*args, "-o", "json", timeout=timeout), "kubectl")

    def liqoctl_json(self, *args: str, timeout: float = 120.0) -> Any:
        output = self.run(
            "liqoctl", [*self._context(), *args, "-o", "json"], timeout=timeout
        )
        return parse_json(output, "liqoctl")

    def flwr(
        self, *args: str, env: Mapping[str, str] | None = None, timeout: float = 120.0
    ) -> str:
        return self.run("flwr", list(args), env=env, timeout=timeout)

    def start_kubectl(self, *args: str) -> subprocess.Popen[str]:
        """Start a long-running kubectl (a port-forward); the caller stops it."""
        command = [find_tool("kubectl"), *self._context(), *args]
        logger.debug("starting %s", " ".join(command))
        return subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(
        self,
        tool: str,
        args: Sequence[str],
        *,
        stdin: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 120.0,
    ) -> str:
        output = self._execute(
            tool,
            args,
            stdin=stdin.encode() if stdin else None,
            env=env,
            timeout=timeout,
        )
        return output.decode("utf-8", errors="replace")

    def run_bytes(
        self, tool: str, args: Sequence[str], *, timeout: float = 300.0
    ) -> bytes:
        """Run and return raw output (an archive streamed by `kubectl exec`)."""
        return self._execute(tool, args, stdin=None, env=None, timeout=timeout)

    def context_args(self) -> list[str]:
        return self._context()

    def _execute(
        self,
        tool: str,
        args: Sequence[str],
        *,
        stdin: bytes | None,
        env: Mapping[str, str] | None,
        timeout: float,
    ) -> bytes:
        command = [find_tool(tool), *args]
        shown = " ".join([tool, *args])
        logger.debug("running %s", shown)
        try:
            done = subprocess.run(
                command,
                input=stdin,
                capture_output=True,
                timeout=timeout,
                env={**os.environ, **env} if env else None,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise ClusterError(
                f"`{_short(shown)}` did not finish within {timeout:.0f} s; "
                "check that the cluster is reachable"
            ) from error
        except OSError as error:
            raise ClusterError(f"cannot run {tool}: {error}") from error
        if done.returncode != 0:
            said = (done.stderr or done.stdout).decode("utf-8", errors="replace")
            raise ClusterError(f"`{_short(shown)}` failed: {last_line(said)}")
        return done.stdout

    def _context(self) -> list[str]:
        return ["--context", self.context] if self.context else []


def parse_json(output: str, tool: str) -> Any:
    """The JSON document in `output`, after any lines of warnings."""
    for index, line in enumerate(output.splitlines()):
        if line.lstrip().startswith(("{", "[")):
            text = "\n".join(output.splitlines()[index:])
            try:
                return json.loads(text)
            except json.JSONDecodeError as error:
                raise ClusterError(
                    f"{tool} printed JSON we cannot read ({error}); "
                    f"is {tool} the version this release expects?"
                ) from error
    raise ClusterError(f"{tool} printed no JSON: {last_line(output)}")


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


def _short(command: str) -> str:
    return command if len(command) <= 100 else command[:97] + "..."

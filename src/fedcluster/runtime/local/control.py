"""Talking to the SuperLink's Control API through the `flwr` command line.

Registering keys, listing nodes, starting runs and reading their status all go
through `flwr ... --format json` rather than Flower's internal Python client:
the command line is Flower's public interface, and its JSON output is stable
enough to parse. The connection lives in the federation's own FLWR_HOME, as
`[superlink.fedcluster]`, and trusts only the federation's CA.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fedcluster.federation.local import LocalSettings
from fedcluster.runtime.local.app_folder import toml_value
from fedcluster.runtime.local.environment import executable, flower_environment
from fedcluster.runtime.local.errors import LocalRuntimeError
from fedcluster.runtime.local.layout import CONNECTION, LocalLayout
from fedcluster.runtime.local.state import write_atomically

logger = logging.getLogger(__name__)

_ERROR_CODE = re.compile(r"\[code: (\d+)\]")
KEY_IN_USE = 23


@dataclass(frozen=True)
class NodeState:
    """A node as the SuperLink lists it."""

    status: str
    # When the node last came online, to the second; None if it never did.
    online_at: float | None


class ControlError(LocalRuntimeError):
    """The SuperLink refused or could not answer a Control API request."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


def write_connection(layout: LocalLayout, settings: LocalSettings) -> None:
    """Write `$FLWR_HOME/config.toml` with the one connection we use."""
    address = settings.superlink_address
    certificate = layout.pki.ca_certificate.resolve()
    text = (
        "# Written by `fedcluster up`; rewritten on every start.\n"
        "[superlink]\n"
        f"default = {toml_value(CONNECTION)}\n"
        "\n"
        f"[superlink.{CONNECTION}]\n"
        f"address = {toml_value(address)}\n"
        f"root-certificates = {toml_value(str(certificate))}\n"
    )
    layout.flwr_home.mkdir(parents=True, exist_ok=True)
    write_atomically(layout.flwr_home / "config.toml", text.encode())


class Control:
    """The `flwr` command line bound to one federation's SuperLink."""

    def __init__(self, layout: LocalLayout, *, timeout: float = 180.0) -> None:
        self.layout = layout
        self.timeout = timeout
        self.environment = flower_environment(layout.flwr_home)

    def register(self, public_key: Path, name: str) -> int:
        """Register a hospital's public key; its new Flower node id."""
        reply = self.call(
            ["supernode", "register", str(public_key), CONNECTION, "--name", name]
        )
        return int(reply["node-id"])

    def node_statuses(self) -> dict[int, str]:
        """Node id -> Flower status (`registered`, `online`, `offline`, ...)."""
        return {node_id: node.status for node_id, node in self.nodes().items()}

    def nodes(self) -> dict[int, NodeState]:
        """Node id -> status and when the node last came online."""
        reply = self.call(["supernode", "list", CONNECTION])
        return {
            int(node["node-id"]): NodeState(
                status=str(node["status"]),
                online_at=_timestamp(str(node.get("online-at", ""))),
            )
            for node in reply["nodes"]
        }

    def start_run(self, app: Path, run_config: Path) -> int:
        """Submit the app in folder `app` with the run config file; the run id."""
        reply = self.call(
            ["run", str(app), CONNECTION, "--run-config", str(run_config)]
        )
        return int(reply["run-id"])

    def run_info(self, run_id: int) -> dict[str, Any]:
        """`flwr ls --run-id` for one run: status, timestamps, traffic."""
        reply = self.call(["ls", CONNECTION, "--run-id", str(run_id)])
        runs = reply.get("runs", [])
        if not runs:
            raise ControlError(f"run {run_id} is unknown to the SuperLink")
        return dict(runs[0])

    def unregister(self, node_id: int) -> None:
        """Withdraw a node's registration so its key no longer admits anyone."""
        self.call(["supernode", "unregister", str(node_id), CONNECTION])

    def stop_run(self, run_id: int) -> None:
        self.call(["stop", str(run_id), CONNECTION])

    def log_command(self, run_id: int) -> list[str]:
        """The argv that streams a run's log until the run ends."""
        return [executable("flwr"), "log", str(run_id), CONNECTION, "--stream"]

    def call(self, arguments: Sequence[str]) -> dict[str, Any]:
        """Run `flwr ARGUMENTS --format json`; its JSON reply, or ControlError."""
        argv = [executable("flwr"), *arguments, "--format", "json"]
        logger.debug("flwr %s", " ".join(arguments))
        try:
            completed = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                env=self.environment,
                cwd=self.layout.root,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise ControlError(
                f"`flwr {arguments[0]} {arguments[1]}` got no answer in "
                f"{self.timeout:.0f} s; is the SuperLink up? see "
                f"{self.layout.log('superlink')}"
            ) from error
        reply = _parse_reply(completed.stdout)
        if reply is None or not reply.get("success", False):
            raise _error_from(arguments, reply, completed)
        return reply


def _parse_reply(stdout: str) -> dict[str, Any] | None:
    """The JSON object in `stdout`, skipping anything printed before it."""
    start = stdout.find("{")
    if start < 0:
        return None
    try:
        reply = json.loads(stdout[start:])
    except ValueError:
        return None
    return reply if isinstance(reply, dict) else None


def _error_from(
    arguments: Sequence[str],
    reply: dict[str, Any] | None,
    completed: subprocess.CompletedProcess[str],
) -> ControlError:
    message = ""
    if reply is not None:
        message = str(reply.get("error-message", ""))
    if not message:
        message = (completed.stderr or completed.stdout).strip()
    # Flower prefixes its messages with the connection in use; keep the reason.
    lines = [line for line in message.splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("Using SuperLink")]
    reason = "; ".join(lines)[-400:] or f"exit code {completed.returncode}"
    match = _ERROR_CODE.search(reason)
    code = int(match.group(1)) if match else None
    command = " ".join(arguments[:2])
    return ControlError(f"`flwr {command}` failed: {reason}", code)


def _timestamp(text: str) -> float | None:
    """Seconds since the epoch of Flower's `2026-01-31 12:00:00Z`; None for N/A."""
    try:
        moment = dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%SZ")
    except ValueError:
        return None
    return moment.replace(tzinfo=dt.UTC).timestamp()

"""Reaching the Control API from this machine, and running a federation there.

`control_endpoint` yields a `FlowerLink` for the `flwr` command line: the
TLS Ingress when `[kubernetes.control] ingress_host` is set, otherwise a
`kubectl port-forward` to the Control Service that is closed when the block
ends, whatever happens inside it. Either way `flwr` verifies the SuperLink
against the federation CA; the address is one of the certificate's names.

`run_on_kubernetes` is what `fedcluster run --runtime kubernetes` calls: it
opens the endpoint, submits with `flwr run` (the app folder and run config
as the local runtime writes them, with the run store and federation file at
their paths inside the SuperLink pod), waits for the run to finish, and copies
the run folder the ServerApp writes in the pod back into the local run store
while the run goes on, so progress shows as for any runtime.
"""

from __future__ import annotations

import io
import logging
import queue
import re
import subprocess
import tarfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from fedcluster.errors import RunError
from fedcluster.federation.model import Federation
from fedcluster.runtime.kubernetes import names
from fedcluster.runtime.kubernetes.flower import (
    CONNECTION,
    FlowerLink,
    flower_link,
    kubernetes_state,
)
from fedcluster.runtime.kubernetes.plan import ClusterPlan, cluster_plan
from fedcluster.runtime.kubernetes.tools import (
    ClusterError,
    Tools,
    last_line,
    parse_json,
)
from fedcluster.runtime.local.app_folder import write_app_folder, write_config_file
from fedcluster.security.pki import PkiLayout

logger = logging.getLogger(__name__)

_FORWARDING = re.compile(r"Forwarding from (?:127\.0\.0\.1|\[::1\]):(\d+) ->")


class SubmitRun(Protocol):
    """Submits one run with `flwr run` and returns when it has ended."""

    def __call__(
        self,
        *,
        connection: str,
        env: dict[str, str],
        run_config: dict[str, str],
        resume: bool,
    ) -> None: ...


def ca_certificate(plan: ClusterPlan) -> Path:
    path = PkiLayout.of(plan.federation).ca_certificate
    if not path.exists():
        raise ClusterError(
            f"{path}: the federation CA is missing; run `fedcluster k8s up -f FILE`"
        )
    return path


@contextmanager
def control_endpoint(
    plan: ClusterPlan, tools: Tools, *, timeout: float = 30.0
) -> Iterator[FlowerLink]:
    """A Control API address for `flwr`, open for the duration of the block."""
    ca = ca_certificate(plan)
    host = plan.settings.control.ingress_host
    if host:
        yield flower_link(plan, f"{host}:443", ca)
        return

    local = plan.settings.control.local_port or ""
    process = tools.start_kubectl(
        "port-forward",
        "-n",
        plan.namespace,
        f"service/{names.CONTROL_SERVICE}",
        f"{local}:{names.CONTROL_PORT}",
        "--address",
        "127.0.0.1",
    )
    try:
        port = _forwarded_port(process, timeout)
        logger.info("port-forward to the Control API on 127.0.0.1:%s", port)
        yield flower_link(plan, f"127.0.0.1:{port}", ca)
    finally:
        _stop(process)


def run_on_kubernetes(
    federation: Federation,
    run_dir: Path,
    *,
    submit: SubmitRun | None = None,
    resume: bool = False,
    copy_every: float = 5.0,
) -> Path:
    """Submit a run to the cluster and mirror its run folder into `run_dir`.

    `submit` defaults to `FlwrSubmitter`, which runs `flwr run` and waits
    until the SuperLink reports the run finished.
    """
    plan = cluster_plan(federation)
    tools = Tools(plan.settings.context)
    submit = submit or FlwrSubmitter(plan, tools)
    run_config = {
        "federation-file": names.FEDERATION_FILE,
        "runtime": "kubernetes",
        "run-dir": f"{names.RUNS_DIR}/{run_dir.name}",
    }
    stop = threading.Event()

    def mirror() -> None:
        while not stop.wait(copy_every):
            try:
                fetch_run(plan, tools, run_dir.name, run_dir)
            except ClusterError as error:
                # The folder may not exist before the first round: try again.
                logger.debug("run folder not copied yet: %s", error)

    with control_endpoint(plan, tools) as link:
        copier = threading.Thread(target=mirror, name="run-mirror", daemon=True)
        copier.start()
        try:
            submit(
                connection=CONNECTION,
                env=link.env,
                run_config=run_config,
                resume=resume,
            )
        finally:
            stop.set()
            copier.join(timeout=copy_every + 60)
    fetch_run(plan, tools, run_dir.name, run_dir)
    return run_dir


class FlwrSubmitter:
    """Submits with `flwr run` and waits until the SuperLink says it finished.

    The app folder and run config file follow the local runtime's (a folder
    holding only a pyproject.toml; both apps come from the installed package).
    """

    def __init__(self, plan: ClusterPlan, tools: Tools, *, poll: float = 3.0) -> None:
        self.plan = plan
        self.tools = tools
        self.poll = poll

    def __call__(
        self,
        *,
        connection: str,
        env: dict[str, str],
        run_config: dict[str, str],
        resume: bool,
    ) -> None:
        folder = kubernetes_state(self.plan)
        app = write_app_folder(folder / "app")
        config = write_config_file(
            folder / "run-config.toml", {**run_config, "resume": resume}
        )
        started = self._flwr(
            env, "run", str(app.resolve()), connection, "--run-config", str(config)
        )
        run_id = str(started.get("run-id"))
        logger.info("submitted Flower run %s to the cluster", run_id)
        while True:
            listed = self._flwr(env, "ls", connection, "--run-id", run_id)
            runs = listed.get("runs") or [{}]
            status = str(runs[0].get("status", ""))
            if status.startswith("finished"):
                if status != "finished:completed":
                    details = runs[0].get("status-details", "") or status
                    raise RunError(f"Flower run {run_id} ended {status}: {details}")
                return
            time.sleep(self.poll)

    def _flwr(self, env: dict[str, str], *args: str) -> dict[str, Any]:
        document = parse_json(
            self.tools.flwr(*args, "--format", "json", env=env, timeout=300), "flwr"
        )
        if not isinstance(document, dict) or not document.get("success", False):
            said = (
                document.get("error-message", "") if isinstance(document, dict) else ""
            )
            raise RunError(f"`flwr {args[0]}` failed: {' '.join(str(said).split())}")
        return document


def fetch_run(plan: ClusterPlan, tools: Tools, run_id: str, destination: Path) -> None:
    """Copy `RUNS_DIR/<run_id>` out of the SuperLink pod into `destination`."""
    archive = tools.run_bytes(
        "kubectl",
        [
            *tools.context_args(),
            "exec",
            "-n",
            plan.namespace,
            f"deployment/{names.SUPERLINK}",
            "-c",
            "serverapp",
            "--",
            "tar",
            "-C",
            names.RUNS_DIR,
            "-cf",
            "-",
            run_id,
        ],
    )
    destination.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(fileobj=io.BytesIO(archive)) as bundle:
            members = []
            for member in bundle.getmembers():
                parts = Path(member.name).parts
                if not parts or parts[0] != run_id or len(parts) == 1:
                    continue
                member.name = str(Path(*parts[1:]))
                members.append(member)
            # The "data" filter refuses links, absolute paths and escapes.
            bundle.extractall(destination, members=members, filter="data")
    except tarfile.TarError as error:
        raise ClusterError(
            f"run {run_id}: the copy from the SuperLink pod is unusable ({error})"
        ) from error


def _forwarded_port(process: subprocess.Popen[str], timeout: float) -> int:
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, name="port-forward-reader", daemon=True).start()
    try:
        while True:
            line = lines.get(timeout=timeout)
            if line is None:
                break
            match = _FORWARDING.search(line)
            if match:
                return int(match.group(1))
    except queue.Empty:
        pass
    _stop(process)
    reason = last_line(process.stderr.read() if process.stderr else "")
    raise ClusterError(
        f"port-forward to {names.CONTROL_SERVICE} failed: {reason}; "
        "is the SuperLink up (`fedcluster k8s status`)?"
    )


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

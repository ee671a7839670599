"""`fedcluster-superexec`: Flower's SuperExec, with ClientApp processes that start warm.

Flower's `flower-superexec` starts a fresh `flwr-clientapp` process for every
message a hospital receives. Before that process reads its message it spends
seconds importing flwr and torch (about 3.5 s on an idle 2-core machine, and
four hospitals sharing two cores wait for each other), every round.

This command is `flower-superexec` with the same arguments and the same task
loop; only the way a ClientApp process starts differs. The SuperExec imports
flwr's ClientApp runtime, torch and the task once, at start-up, and then forks
one child per task. Each message still runs in its own process, as Flower's
process isolation intends (a crash or a leak stays with that message), but the
child starts with everything imported. ServerApp and other task types, and any
run that asks for its dependencies to be installed, go to Flower's own
subprocess executor unchanged.

Its task loop also looks for work sooner after work and less often when
idle (`polling.PatientSleep`, between 0.05 s and Flower's 1 s), where
Flower's waits a fixed `FLWR_SUPEREXEC_TASK_POLL_INTERVAL`.

The hooks are names Flower does not document (`run_superexec.get_executor`
and the `time` module of `run_superexec`, Flower 1.42). If one is missing,
the command logs a warning and runs that part of Flower's stock SuperExec,
which is slower but correct.
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any, NoReturn

from fedcluster.runtime.local.launcher_log import (
    log_beside_flower,
    timestamp_flower_lines,
)
from fedcluster.runtime.local.polling import PatientSleep

log = logging.getLogger(__name__)

# Imported once by the SuperExec so that no ClientApp child has to.
WARM_MODULES = (
    "flwr.supernode.runtime.run_clientapp",
    "torch",
    # The first optimizer a process builds imports torch's compiler stack
    # (several seconds, with sympy): do it here, once.
    "torch._dynamo",
    "fedcluster.app.client",
    "fedcluster.tasks.heart",
)

# Extra modules to import (comma-separated), e.g. a user task's module.
PRELOAD_VARIABLE = "FEDCLUSTER_PRELOAD"


# The task loop's shortest and longest idle sleep (Flower: a fixed 1 s).
SHORTEST_TASK_POLL = 0.05
LONGEST_TASK_POLL = 1.0


class ForkingExecutor:
    """Runs each ClientApp task in a child forked from this warm process.

    Everything else is passed to Flower's executor (`fallback`). `on_work`
    is called whenever a task starts or a child ends.
    """

    def __init__(
        self, fallback: Any, on_work: Callable[[], None] = lambda: None
    ) -> None:
        self._fallback = fallback
        self._on_work = on_work
        self._children: set[int] = set()

    def get_eligible_capacity(
        self, supported_task_types: set[Any], **options: Any
    ) -> tuple[set[Any], set[str]]:
        capacity: tuple[set[Any], set[str]] = self._fallback.get_eligible_capacity(
            supported_task_types, **options
        )
        return capacity

    def wait_for_capacity(self, task_type: Any = None, **options: Any) -> None:
        self._fallback.wait_for_capacity(task_type, **options)

    def launch(self, spec: Any) -> Any:
        from flwr.supercore.constant import TaskType
        from flwr.supercore.superexec.executor import LaunchResult

        self._on_work()
        if spec.task_type != TaskType.CLIENT_APP or spec.runtime_dependency_install:
            return self._fallback.launch(spec)

        # Whatever is buffered now would otherwise be written twice.
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            pid = os.fork()
        except OSError as error:
            return LaunchResult.failed(f"cannot fork a ClientApp process: {error}")
        if pid == 0:
            _run_clientapp_child(spec)
        self._children.add(pid)
        return LaunchResult.accepted()

    def reconcile(self) -> None:
        """Reap finished children, so none is left a zombie."""
        for pid in list(self._children):
            try:
                finished, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                finished = pid
            if finished:
                self._children.discard(pid)
                self._on_work()
        self._fallback.reconcile()

    def close(self) -> None:
        # Children watch this process (`parent_pid`) and stop when it goes.
        self._fallback.close()


def _run_clientapp_child(spec: Any) -> NoReturn:
    """In the forked child: run one ClientApp task, then exit without
    running anything the parent registered."""
    code = 1
    try:
        from flwr.supercore.exit import exit_handler
        from flwr.supercore.tls import validate_and_resolve_root_certificates
        from flwr.supernode.runtime.run_clientapp import run_clientapp

        # The parent's exit handlers would close the parent's connection and
        # executor; its signal handlers would do the same on SIGTERM.
        # (This child has one thread: nothing else can hold their lock.)
        exit_handler.registered_exit_handlers.clear()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_DFL)

        run_clientapp(
            runtime_api_address=spec.runtime_api_address,
            token=spec.token,
            insecure=spec.insecure,
            certificates=validate_and_resolve_root_certificates(
                spec.root_certificates_path, spec.insecure
            ),
            parent_pid=spec.parent_pid,
            runtime_dependency_install=False,
        )
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:  # the child must never return
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def task_module(task_name: str) -> str:
    """The module a federation's `[task] name` lives in, to pre-import."""
    built_in = {"heart": "fedcluster.tasks.heart", "images": "fedcluster.tasks.images"}
    if task_name in built_in:
        return built_in[task_name]
    return task_name.partition(":")[0]


def warm_up(modules: tuple[str, ...]) -> None:
    """Import `modules`; one that fails is left for its ClientApp to report."""
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as error:  # its ClientApp reports it
            log.warning("could not pre-import %s (%s); ClientApps will", name, error)


def install_forking_executor(on_work: Callable[[], None] = lambda: None) -> bool:
    """Make Flower's SuperExec use `ForkingExecutor`; False if Flower changed."""
    from flwr.supercore.constant import ExecutorType

    run_superexec: Any = importlib.import_module(
        "flwr.supercore.superexec.run_superexec"
    )

    flower_get_executor: Callable[..., Any] | None = getattr(
        run_superexec, "get_executor", None
    )
    if flower_get_executor is None:
        return False

    def get_executor(executor_type: Any, **options: Any) -> Any:
        executor = flower_get_executor(executor_type, **options)
        if executor_type == ExecutorType.SUBPROCESS:
            return ForkingExecutor(executor, on_work)
        return executor

    run_superexec.get_executor = get_executor
    return True


def install_patient_task_poll() -> PatientSleep | None:
    """Give the SuperExec's task loop a `PatientSleep`; None if Flower changed."""
    run_superexec: Any = importlib.import_module(
        "flwr.supercore.superexec.run_superexec"
    )
    if getattr(run_superexec, "time", None) is not time:
        return None
    sleeper = PatientSleep(shortest=SHORTEST_TASK_POLL, longest=LONGEST_TASK_POLL)
    run_superexec.time = sleeper
    return sleeper


def main() -> None:
    """The `fedcluster-superexec` console script."""
    log_beside_flower(log)
    timestamp_flower_lines()
    preload = tuple(
        name.strip()
        for name in os.environ.get(PRELOAD_VARIABLE, "").split(",")
        if name.strip()
    )
    warm_up(WARM_MODULES + preload)
    # A child asks for its message the moment it is forked, usually before
    # the SuperNode has all of it: retry in milliseconds (inherited by every
    # child).
    from fedcluster.app.object_pulls import shorten_object_pull_retries

    shorten_object_pull_retries()

    from flwr.supercore.cli import flower_superexec

    sleeper = install_patient_task_poll()
    if sleeper is None:
        log.warning(
            "this Flower's SuperExec loop has no `time` to adjust; it looks "
            "for tasks at its fixed interval"
        )
    if not install_forking_executor(sleeper.worked if sleeper else lambda: None):
        log.warning(
            "this Flower has no run_superexec.get_executor; running the stock "
            "SuperExec (every ClientApp process starts cold)"
        )
    flower_superexec()


if __name__ == "__main__":
    main()

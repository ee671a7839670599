"""The thin launchers around Flower's SuperNode and SuperExec, and the pull
retry change, each checked against the Flower installed here.

Each hook reaches into a name Flower does not document; these tests fail
when an upgrade of Flower moves one, instead of a deployed round silently
becoming slow again.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fedcluster.app import object_pulls
from fedcluster.runtime.local import polling, quick_supernode, warm_superexec


@pytest.fixture
def restore_flower() -> Iterator[None]:
    """Undo what a test changed inside Flower's modules."""
    from flwr.supercore.inflatable import inflatable_utils
    from flwr.supercore.superexec import run_superexec
    from flwr.supernode import start_client_internal

    functions = [
        inflatable_utils.pull_objects,
        inflatable_utils.pull_and_inflate_object_from_tree,
    ]
    defaults = [dict(f.__kwdefaults__ or {}) for f in functions]
    loop_time = start_client_internal.time  # type: ignore[attr-defined]
    pull_and_store = start_client_internal._pull_and_store_message
    push = start_client_internal._push_messages
    task_loop_time = run_superexec.time  # type: ignore[attr-defined]
    get_executor = run_superexec.get_executor  # type: ignore[attr-defined]
    yield
    for function, saved in zip(functions, defaults, strict=True):
        function.__kwdefaults__ = saved
    start_client_internal.time = loop_time  # type: ignore[attr-defined]
    start_client_internal._pull_and_store_message = pull_and_store
    start_client_internal._push_messages = push
    run_superexec.time = task_loop_time  # type: ignore[attr-defined]
    run_superexec.get_executor = get_executor  # type: ignore[attr-defined]


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_idle_loop_sleeps_a_tenth_of_its_idle_time_within_bounds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Prepare
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    clock = _Clock()
    sleeper = polling.PatientSleep(shortest=0.25, longest=3.0, clock=clock)

    # Act: just after work, after 10 s idle, after 5 minutes idle, after work.
    sleeper.sleep(3)
    clock.now += 10
    sleeper.sleep(3)
    clock.now += 300
    sleeper.sleep(3)
    sleeper.worked()
    sleeper.sleep(3)

    # Assert
    assert slept == [0.25, 1.0, 3.0, 0.25]
    assert sleeper.monotonic() > 0  # the rest is the real time module


def test_the_supernode_checks_its_clientapp_often_and_counts_that_as_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Prepare: idle for a minute, then a message arrives and its ClientApp runs.
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    clock = _Clock()
    sleeper = quick_supernode.SupernodeSleep(0.25, clock=clock)
    clock.now += 60

    # Act
    sleeper.sleep(3)  # no message: Flower would sleep 3 s
    sleeper.sleep(0.5)  # waiting for the ClientApp's reply
    sleeper.sleep(3)  # reply sent, no next message yet

    # Assert
    assert slept == [3.0, quick_supernode.BUSY_POLL, 0.25]


def test_the_supernode_loop_of_this_flower_takes_the_patient_sleep(
    restore_flower: None,
) -> None:
    from flwr.supernode import start_client_internal

    assert quick_supernode.install_patient_sleep(0.25)
    replaced = start_client_internal.time  # type: ignore[attr-defined]
    assert isinstance(replaced, quick_supernode.SupernodeSleep)
    assert replaced.shortest == 0.25


def test_the_superexec_task_loop_of_this_flower_takes_the_patient_sleep(
    restore_flower: None,
) -> None:
    from flwr.supercore.superexec import run_superexec

    sleeper = warm_superexec.install_patient_task_poll()

    assert sleeper is not None
    assert run_superexec.time is sleeper  # type: ignore[attr-defined]
    assert sleeper.shortest == warm_superexec.SHORTEST_TASK_POLL


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("0.5", 0.5), ("", 0.25), ("soon", 0.25), ("10", 0.25), ("nan", 0.25)],
)
def test_a_supernode_poll_that_is_not_a_sane_number_falls_back_to_the_default(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: float
) -> None:
    monkeypatch.setenv(quick_supernode.POLL_VARIABLE, raw)
    assert quick_supernode.poll_seconds() == expected


def test_missing_message_contents_are_retried_within_milliseconds(
    restore_flower: None,
) -> None:
    from flwr.supercore.inflatable import inflatable_utils

    # Act
    changed = object_pulls.shorten_object_pull_retries()

    # Assert
    assert changed
    for function in (
        inflatable_utils.pull_objects,
        inflatable_utils.pull_and_inflate_object_from_tree,
    ):
        defaults = function.__kwdefaults__ or {}
        assert defaults["initial_backoff"] == object_pulls.FIRST_RETRY_SECONDS
        assert defaults["backoff_cap"] == object_pulls.LONGEST_RETRY_GAP_SECONDS


def test_this_flower_superexec_builds_its_executor_through_the_forking_one(
    restore_flower: None,
) -> None:
    from flwr.supercore.constant import ExecutorType
    from flwr.supercore.superexec import run_superexec

    assert warm_superexec.install_forking_executor()
    executor = run_superexec.get_executor(  # type: ignore[attr-defined]
        ExecutorType.SUBPROCESS,
        executor_config=None,
        insecure=True,
        root_certificates_path=None,
    )
    assert isinstance(executor, warm_superexec.ForkingExecutor)


class _RecordingExecutor:
    """Stands in for Flower's subprocess executor: records what it gets."""

    def __init__(self) -> None:
        self.launched: list[Any] = []
        self.reconciled = 0

    def launch(self, spec: Any) -> str:
        self.launched.append(spec)
        return "launched by Flower"

    def reconcile(self) -> None:
        self.reconciled += 1


def _spec(task_type: Any, token: str) -> Any:
    from flwr.supercore.superexec.executor import ExecutionSpec

    return ExecutionSpec(
        task_type=task_type,
        runtime_api_address="127.0.0.1:9",
        token=token,
        insecure=True,
        root_certificates_path=None,
        runtime_dependency_install=False,
        parent_pid=os.getpid(),
        suppress_output=False,
        task_id=1,
    )


def test_a_clientapp_task_runs_in_a_forked_child_that_has_torch_already(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Prepare: the child's ClientApp run records where and how it ran.
    import flwr.supernode.runtime.run_clientapp as runtime
    import torch  # noqa: F401 - the warm SuperExec imports it before forking
    from flwr.supercore.constant import TaskType

    record = tmp_path / "child.txt"

    def fake_run_clientapp(**options: Any) -> None:
        record.write_text(f"{os.getpid()} {options['token']} {'torch' in sys.modules}")
        sys.exit(0)

    monkeypatch.setattr(runtime, "run_clientapp", fake_run_clientapp)
    fallback = _RecordingExecutor()
    work: list[str] = []
    executor = warm_superexec.ForkingExecutor(fallback, lambda: work.append("x"))

    # Act
    result = executor.launch(_spec(TaskType.CLIENT_APP, "token-1"))
    deadline = time.monotonic() + 30
    while executor._children and time.monotonic() < deadline:
        executor.reconcile()
        time.sleep(0.05)

    # Assert: another process ran it, warm, and was reaped (no zombie left).
    assert result.status == "accepted"
    pid, token, warm = record.read_text().split()
    assert int(pid) != os.getpid()
    assert (token, warm) == ("token-1", "True")
    assert not executor._children
    assert fallback.launched == []
    assert len(work) == 2  # the task loop heard of its start and of its end


def test_a_serverapp_task_goes_to_flowers_own_executor(tmp_path: Path) -> None:
    from flwr.supercore.constant import TaskType

    fallback = _RecordingExecutor()
    executor = warm_superexec.ForkingExecutor(fallback)

    result = executor.launch(_spec(TaskType.SERVER_APP, "token-2"))

    assert result == "launched by Flower"
    assert [spec.token for spec in fallback.launched] == ["token-2"]


@pytest.mark.parametrize(
    ("task", "module"),
    [
        ("heart", "fedcluster.tasks.heart"),
        ("images", "fedcluster.tasks.images"),
        ("mypackage.tasks:MyTask", "mypackage.tasks"),
    ],
)
def test_the_superexec_pre_imports_the_module_of_the_federations_task(
    task: str, module: str
) -> None:
    assert warm_superexec.task_module(task) == module


def test_a_reply_left_over_from_a_stopped_run_does_not_put_the_supernode_behind(
    restore_flower: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Prepare: a SuperNode state holding a stale reply of stopped run 1; the
    # reply to run 2's message arrives only on the second look, as a
    # ClientApp's would.
    from types import SimpleNamespace

    from flwr.supernode import start_client_internal as loop

    def reply(run_id: int) -> Any:
        return SimpleNamespace(metadata=SimpleNamespace(run_id=run_id))

    waiting = [[reply(1)], [reply(2)]]
    sent: list[int] = []

    def flower_push(*, send: Any, **options: Any) -> None:
        for message in waiting.pop(0):
            send(message, None, 0.0)

    monkeypatch.setattr(loop, "_pull_and_store_message", lambda **options: 2)
    monkeypatch.setattr(loop, "_push_messages", flower_push)
    assert quick_supernode.install_reply_in_step()

    # Act: one turn of the SuperNode loop, as Flower calls it.
    run_id = loop._pull_and_store_message(state=None)
    loop._push_messages(
        state=None,
        object_store=None,
        send=lambda message, *rest: sent.append(message.metadata.run_id),
        push_object=None,
    )

    # Assert
    assert run_id == 2
    assert sent == [1, 2]
    assert waiting == []


def test_this_flower_supernode_loop_has_the_functions_the_fix_wraps(
    restore_flower: None,
) -> None:
    from flwr.supernode import start_client_internal as loop

    flower_push = loop._push_messages

    assert quick_supernode.install_reply_in_step()
    assert loop._push_messages is not flower_push

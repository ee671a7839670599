"""`fedcluster-supernode`: Flower's SuperNode, asking for work sooner.

Flower 1.42's SuperNode loop has two fixed waits that no option changes: when
it asks the SuperLink for a message and finds none it sleeps 3 s, and while
its ClientApp works it checks for the reply every 0.5 s. Every round of a
deployed run pays for both: the next round's message sits at the SuperLink
until each hospital's 3 s sleep ends (with four hospitals, the last of them
wakes about 2.3 s late on average).

This command is `flower-supernode` with the same arguments; only the sleeps in
that loop change (see `polling.PatientSleep`). After finding no message it
sleeps a tenth of the time since its last message, between
`FEDCLUSTER_SUPERNODE_POLL` seconds (default 0.25) and Flower's 3 s: quick
between rounds, and as patient as Flower when the federation is idle. While
its ClientApp works it checks for the reply every 0.05 s (a look at its own
memory, not a request).

It also mends one way Flower 1.42's SuperNode loses step. The loop handles
one message at a time: it pulls a message, then sends whatever reply its
state holds. When a run is stopped while a message of it is being received,
Flower keeps that message's task, a ClientApp answers it, and the answer
waits in the state; after the next run's first message the loop sends that
stale answer (the SuperLink ignores it) and goes back to pulling, so every
later reply of this hospital goes out one message late and the server waits
a whole `round_timeout` each round. Here the loop sends again until a reply
of the run it just received from has gone out.

The hooks are the `time`, `_pull_and_store_message` and `_push_messages`
names inside `flwr.supernode.start_client_internal`, not documented options.
If one is missing, the command logs a warning and runs that part of
Flower's SuperNode unchanged.
"""

from __future__ import annotations

import importlib
import logging
import math
import os
import time
from collections.abc import Callable
from typing import Any

from fedcluster.runtime.local.launcher_log import (
    log_beside_flower,
    timestamp_flower_lines,
)
from fedcluster.runtime.local.polling import PatientSleep

log = logging.getLogger(__name__)

POLL_VARIABLE = "FEDCLUSTER_SUPERNODE_POLL"
DEFAULT_POLL = 0.25


# Flower's SuperNode sleeps this long after finding no message ...
FLOWER_IDLE_SLEEP = 3.0
# ... and less than a second while it waits on its own ClientApp.
BUSY_POLL = 0.05


class SupernodeSleep(PatientSleep):
    """Stands in for the `time` module of the SuperNode loop."""

    def __init__(
        self, shortest: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(shortest=shortest, longest=FLOWER_IDLE_SLEEP, clock=clock)

    def sleep(self, seconds: float) -> None:
        if seconds >= 1.0:  # found no message
            self.idle_sleep()
            return
        # Waiting for its ClientApp's reply: work is under way.
        self.worked()
        time.sleep(min(seconds, BUSY_POLL))


def poll_seconds() -> float:
    """The shortest idle sleep from the environment, or the default if unset
    or unusable."""
    raw = os.environ.get(POLL_VARIABLE, "")
    try:
        value = float(raw) if raw else DEFAULT_POLL
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0.01 <= value <= 3.0:
        log.warning(
            "%s=%r is not a number of seconds in [0.01, 3]; using %s",
            POLL_VARIABLE,
            raw,
            DEFAULT_POLL,
        )
        return DEFAULT_POLL
    return value


def install_patient_sleep(shortest: float) -> bool:
    """Give the SuperNode loop a `SupernodeSleep`; False if Flower changed."""
    loop: Any = importlib.import_module("flwr.supernode.start_client_internal")
    if getattr(loop, "time", None) is not time:
        return False
    loop.time = SupernodeSleep(shortest)
    return True


def install_reply_in_step() -> bool:
    """Make the SuperNode loop send until the reply of the run it received
    from has gone out; False if Flower changed."""
    loop: Any = importlib.import_module("flwr.supernode.start_client_internal")
    pull = getattr(loop, "_pull_and_store_message", None)
    push = getattr(loop, "_push_messages", None)
    if not (callable(pull) and callable(push)):
        return False
    received_from: list[int | None] = [None]

    def pull_and_remember(**options: Any) -> Any:
        run_id = pull(**options)
        received_from[0] = run_id
        return run_id

    def push_until_in_step(*, send: Callable[..., Any], **options: Any) -> None:
        run_id = received_from[0]
        sent_for: set[int] = set()

        def send_and_note(message: Any, *arguments: Any) -> Any:
            sent_for.add(message.metadata.run_id)
            return send(message, *arguments)

        push(send=send_and_note, **options)
        while run_id is not None and run_id not in sent_for:
            log.warning(
                "sent a reply left over from a stopped run; now sending the "
                "reply for run %s",
                run_id,
            )
            push(send=send_and_note, **options)

    loop._pull_and_store_message = pull_and_remember
    loop._push_messages = push_until_in_step
    return True


def main() -> None:
    """The `fedcluster-supernode` console script."""
    log_beside_flower(log)
    timestamp_flower_lines()
    from flwr.supernode.cli import flower_supernode

    if not install_patient_sleep(poll_seconds()):
        log.warning(
            "this Flower's SuperNode loop has no `time` to adjust; running "
            "it unchanged (it waits 3 s between polls when idle)"
        )
    if not install_reply_in_step():
        log.warning(
            "this Flower's SuperNode loop has no _pull_and_store_message or "
            "_push_messages; a reply left over from a stopped run can put "
            "this hospital one message behind"
        )
    # A message is often listed at the SuperLink before all of its arrays
    # are: retry those in milliseconds, not seconds.
    from fedcluster.app.object_pulls import shorten_object_pull_retries

    shorten_object_pull_retries()
    flower_supernode()


if __name__ == "__main__":
    main()

"""How often an idle Flower loop looks for work: soon after work, rarely later.

A SuperNode asks the SuperLink for a message, and a SuperExec asks its
SuperNode for a task, in loops that sleep a fixed time whenever they find
nothing (3 s and 1 s in Flower 1.42). During a run the next piece of work
follows the last one within a second or two (the next round's message), so
a short sleep saves most of a round's waiting; but a federation that sits
idle between runs would then keep the SuperLink answering several requests a
second for nothing.

`PatientSleep` stands in for the `time` module inside such a loop. Each idle
sleep lasts a share (10%) of the time since the loop last had work, kept
between `shortest` and `longest`: right after a round it looks again within
`shortest`, and after half a minute idle it sleeps `longest`, as Flower
does. The delay this adds is never more than about a tenth of the time
already waited.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

IDLE_SHARE = 0.1


class PatientSleep:
    """A `time` module whose `sleep` the owner decides, see `idle_sleep`."""

    def __init__(
        self,
        *,
        shortest: float,
        longest: float,
        share: float = IDLE_SHARE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.shortest = shortest
        self.longest = max(longest, shortest)
        self.share = share
        self._clock = clock
        self._last_work = clock()

    def worked(self) -> None:
        """Note that the loop just had work to do."""
        self._last_work = self._clock()

    def idle_seconds(self) -> float:
        """How long the next idle sleep lasts."""
        idle_for = self._clock() - self._last_work
        return min(self.longest, max(self.shortest, self.share * idle_for))

    def idle_sleep(self) -> None:
        time.sleep(self.idle_seconds())

    def sleep(self, seconds: float) -> None:
        self.idle_sleep()

    def __getattr__(self, name: str) -> Any:
        # Everything but `sleep` is the real `time` module.
        return getattr(time, name)

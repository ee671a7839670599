"""`fedcluster-supernode`: Flower's SuperNode, asking for work more often.

Flower 1.42's SuperNode loop has two fixed waits that no option changes: when
it asks the SuperLink for a message and finds none it sleeps 3 s, and while
its ClientApp works it checks for the reply every 0.5 s. Every round of a
deployed run pays for both: the next round's message sits at the SuperLink
until each hospital's 3 s sleep ends (with four hospitals, the last of them
wakes about 2.3 s late on average).

This command is `flower-supernode` with the same arguments; only the sleeps in
that loop are capped at `FEDCLUSTER_SUPERNODE_POLL` seconds (default 0.25).
The cost is one more small authenticated request to the SuperLink per
hospital per poll while the federation is idle.

The hook is the `time` name inside `flwr.supernode.start_client_internal`, not
a documented option. If it is missing, the command logs a warning and runs
Flower's SuperNode unchanged.
"""

from __future__ import annotations

import importlib
import logging
import math
import os
import time
from typing import Any

log = logging.getLogger(__name__)

POLL_VARIABLE = "FEDCLUSTER_SUPERNODE_POLL"
DEFAULT_POLL = 0.25


class CappedSleepTime:
    """Stands in for the `time` module: `sleep` waits at most `cap` seconds."""

    def __init__(self, cap: float) -> None:
        self.cap = cap

    def sleep(self, seconds: float) -> None:
        time.sleep(min(seconds, self.cap))

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def poll_seconds() -> float:
    """The cap from the environment, or the default if unset or unusable."""
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


def install_capped_sleep(cap: float) -> bool:
    """Cap the SuperNode loop's sleeps at `cap`; False if Flower changed."""
    loop: Any = importlib.import_module("flwr.supernode.start_client_internal")
    if getattr(loop, "time", None) is not time:
        return False
    loop.time = CappedSleepTime(cap)
    return True


def main() -> None:
    """The `fedcluster-supernode` console script."""
    _log_to_stderr()
    from flwr.supernode.cli import flower_supernode

    if not install_capped_sleep(poll_seconds()):
        log.warning(
            "this Flower's SuperNode loop has no `time` to adjust; running "
            "it unchanged (it waits 3 s between polls when idle)"
        )
    # A message is often listed at the SuperLink before all of its arrays
    # are: retry those in milliseconds, not seconds.
    from fedcluster.app.object_pulls import shorten_object_pull_retries

    shorten_object_pull_retries()
    flower_supernode()


def _log_to_stderr() -> None:
    """Our few lines go beside Flower's in the process's log, and nothing
    else's: a root handler would also print every HTTP request."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s [fedcluster] %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


if __name__ == "__main__":
    main()

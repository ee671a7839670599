"""Where fedcluster's launchers write their own few log lines.

`fedcluster-supernode` and `fedcluster-superexec` run Flower's commands in
their own process, so what they say about their hooks goes to the same
stderr, and hence the same log file, as Flower's lines.
"""

from __future__ import annotations

import logging


def log_beside_flower(logger: logging.Logger) -> None:
    """Send `logger`'s lines to stderr, and only its: a handler on the root
    logger would also print every HTTP request the process makes."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s [fedcluster] %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def timestamp_flower_lines() -> None:
    """Give Flower's own log lines in this process a time of day, so that
    one round can be followed across the logs of different processes."""
    try:
        from flwr.supercore.logger import update_console_handler
    except ImportError:  # a Flower without it logs as it always did
        return
    update_console_handler(timestamps=True)

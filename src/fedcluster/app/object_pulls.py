"""Shorter retries when a Flower message's contents are not there yet.

A Flower 1.42 message travels as a small header and its contents (arrays,
records) as separate objects. Whoever pulls a message may find the header
before all of its contents have arrived; it then retries each missing object
after 1 s, 2 s, 4 s and so on, up to 10 s apart (`PULL_INITIAL_BACKOFF`,
`PULL_BACKOFF_CAP`). In a deployed round this happens twice: a ClientApp
forked warm asks its SuperNode for the message while the SuperNode is still
fetching it from the SuperLink, and the ServerApp sees a reply listed while
its arrays are still being pushed. Each time the round waits a whole second
for something that arrives milliseconds later.

`shorten_object_pull_retries` makes the first retry come after 50 ms and
caps the gap at 1 s, in this process only. The defaults are those of
Flower's own functions (not a documented option); if the functions change
shape the call changes nothing and says so.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

FIRST_RETRY_SECONDS = 0.05
LONGEST_RETRY_GAP_SECONDS = 1.0


def shorten_object_pull_retries(
    first: float = FIRST_RETRY_SECONDS, longest: float = LONGEST_RETRY_GAP_SECONDS
) -> bool:
    """Retry missing message contents sooner; False if Flower changed."""
    from flwr.supercore.inflatable import inflatable_utils

    functions: list[Any] = [
        getattr(inflatable_utils, "pull_objects", None),
        getattr(inflatable_utils, "pull_and_inflate_object_from_tree", None),
    ]
    defaults = [getattr(function, "__kwdefaults__", None) for function in functions]
    if not all(
        isinstance(values, dict) and {"initial_backoff", "backoff_cap"} <= set(values)
        for values in defaults
    ):
        log.debug("Flower's object pulls have changed shape; retry gaps left as is")
        return False
    for values in defaults:
        assert values is not None
        values["initial_backoff"] = first
        values["backoff_cap"] = longest
    return True

"""Sending one batch of messages and collecting the replies, with a deadline.

Flower's `send_and_receive` polls the SuperLink every few seconds; pushing and
pulling ourselves with a short poll removes most of that idle time from every
round. The poll starts at `poll_interval` and stretches to a tenth of the
time waited so far (at most 1 s), so a long round (a hospital that went
silent, a slow model) does not keep the SuperLink busy answering. Replies
that never come are reported, not waited for forever.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from flwr.app import Message
from flwr.serverapp import Grid

from fedcluster.app import protocol
from fedcluster.app.packing import unbundle_arrays

log = logging.getLogger(__name__)

LONGEST_POLL = 1.0


@dataclass
class Exchange:
    """The outcome of one batch: replies by destination node, and who was silent."""

    replies: dict[int, Message] = field(default_factory=dict)
    silent: list[int] = field(default_factory=list)
    seconds: float = 0.0


def exchange(
    grid: Grid,
    messages: Sequence[Message],
    *,
    timeout: float,
    poll_interval: float = 0.05,
) -> Exchange:
    """Push `messages`, pull replies until all arrived or `timeout` passed."""
    started = time.monotonic()
    message_ids = list(grid.push_messages(messages))
    node_of = {
        message_id: message.metadata.dst_node_id
        for message_id, message in zip(message_ids, messages, strict=True)
        if message_id
    }
    waiting = set(node_of)
    result = Exchange()
    deadline = started + timeout
    while waiting and time.monotonic() < deadline:
        for reply in grid.pull_messages(list(waiting)):
            message_id = reply.metadata.reply_to_message_id
            if message_id in waiting:
                waiting.discard(message_id)
                result.replies[node_of[message_id]] = unbundled(reply)
        if waiting:
            waited = time.monotonic() - started
            time.sleep(min(LONGEST_POLL, max(poll_interval, 0.1 * waited)))
    result.silent = sorted(node_of[message_id] for message_id in waiting)
    result.seconds = time.monotonic() - started
    if result.silent:
        log.warning(
            "%d node(s) did not reply within %.0f s", len(result.silent), timeout
        )
    return result


def unbundled(reply: Message) -> Message:
    """`reply` with its array records out of their bundle (see `packing`).

    A bundle that does not read is the hospital's failure, reported under
    its name like any error it reports itself.
    """
    if not reply.has_content():
        return reply
    try:
        unbundle_arrays(reply.content)
    except ValueError as error:
        site = reply.content.config_records.get(protocol.SITE)
        if site is not None:
            site["error"] = f"unreadable reply ({error})"
        log.warning("a reply's arrays do not read: %s", error)
    return reply

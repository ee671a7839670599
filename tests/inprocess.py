"""A Flower grid that delivers messages to the real ClientApp in this process.

Tests of the privacy and robustness options need many short runs. Flower's
simulation engine starts Ray for each one (tens of seconds here), so these
tests drive the real ServerApp loop (`fedcluster.app.server.drive`) and the
real ClientApp, with its mods, through this grid instead: every message is
copied, handed to the ClientApp of its destination node with that node's own
`Context` (whose `state` persists between messages, as on a SuperNode), and
the reply is copied back. Only the transport is missing. The grid records
every reply the server pulled, which is what "the server saw".
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from flwr.app import Context, Error, Message, RecordDict
from flwr.serverapp import Grid
from flwr.supercore.task_identity import TaskIdentity

from fedcluster.app.client import build_client_app
from fedcluster.app.server import drive
from fedcluster.federation.model import Federation
from fedcluster.report import store

# Decides that a node stays silent for a message (to simulate a dropout).
Silence = Callable[[int, Message], bool]
# The nodes not connected right now (left out of `get_node_ids`).
Offline = Callable[[], Iterable[int]]


class InProcessGrid(Grid):  # type: ignore[misc]
    """One node per hospital, ids 1..n, partition ids 0..n-1."""

    def __init__(
        self,
        sites: list[tuple[str, Path]],
        *,
        silence: Silence | None = None,
        offline: Offline | None = None,
    ) -> None:
        # Messages take their run and sender from the process's task identity.
        TaskIdentity.run_id, TaskIdentity.task_id, TaskIdentity.node_id = 1, 1, 0
        self.client_app = build_client_app(sites)
        self.contexts = {
            index + 1: Context(
                run_id=1,
                node_id=index + 1,
                node_config={"partition-id": index, "num-partitions": len(sites)},
                state=RecordDict(),
                run_config={},
            )
            for index in range(len(sites))
        }
        self.silence = silence
        self.offline = offline
        self.pending: dict[str, Message] = {}  # delivered, not yet answered
        self.seen: list[Message] = []  # every reply the server pulled

    def set_run(self, run: Any) -> None:
        pass

    @property
    def run(self) -> Any:
        return None

    def create_message(self, *args: Any, **kwargs: Any) -> Message:
        raise NotImplementedError

    def get_node_ids(self) -> Iterable[int]:
        gone = set(self.offline()) if self.offline is not None else set()
        return [node for node in self.contexts if node not in gone]

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
        ids = []
        for message in messages:
            message_id = uuid.uuid4().hex
            message.metadata.__dict__["_message_id"] = message_id
            ids.append(message_id)
            node = message.metadata.dst_node_id
            if self.silence is not None and self.silence(node, message):
                continue
            self.pending[message_id] = copy.deepcopy(message)
        return ids

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:
        # The ClientApps run when the server first asks for their replies, so
        # a round's deadline never passes before the first pull.
        replies = []
        for message_id in list(message_ids):
            delivered = self.pending.pop(message_id, None)
            if delivered is None:
                continue
            node = delivered.metadata.dst_node_id
            try:
                reply = self.client_app(delivered, self.contexts[node])
            except Exception as error:  # as a SuperNode reports a crashed app
                reply = Message(Error(code=0, reason=repr(error)), reply_to=delivered)
            replies.append(copy.deepcopy(reply))
        # As pulled: the server unbundles its copies in place.
        self.seen.extend(copy.deepcopy(replies))
        return replies

    def send_and_receive(
        self, messages: Iterable[Message], *, timeout: float | None = None
    ) -> Iterable[Message]:
        return self.pull_messages(self.push_messages(messages))


def run_in_process(
    federation: Federation,
    run_dir: Path,
    *,
    silence: Silence | None = None,
    offline: Offline | None = None,
    pack_records: bool = False,
) -> tuple[dict[str, Any], InProcessGrid]:
    """Run the federation through the real apps in this process; with
    `pack_records`, messages travel packed and bundled as in deployed runs."""
    sites = [(hospital.name, hospital.data) for hospital in federation.hospitals]
    grid = InProcessGrid(sites, silence=silence, offline=offline)
    run_dir.mkdir(parents=True, exist_ok=True)
    drive(federation, grid, run_dir, poll_interval=0.001, pack_records=pack_records)
    summary = store.read_summary(run_dir)
    assert summary is not None
    return summary, grid

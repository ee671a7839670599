"""The federated run as the server drives it, round by round.

1. Wait until enough hospitals are online (never forever).
2. Ask every hospital for its preprocessing statistics and a data profile;
   a hospital whose data fails its checks is left out, with its reason.
3. Each round, one message per hospital carries the global model: the
   hospital evaluates it on its own test set, trains it, and returns both.
   Updates are checked (names, shapes, finite values) before aggregation.
4. After the last round, one evaluation message scores the final model.

Line r of metrics.jsonl describes the model after round r; it is written once
that model's evaluation has come back, at the end of round r + 1. A
checkpoint after every round lets a new ServerApp continue the run.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from flwr.app import Message, MessageType, RecordDict
from flwr.serverapp import Grid
from numpy.typing import NDArray

from fedcluster.app import protocol
from fedcluster.app.checkpoint import Checkpoint, latest_checkpoint, save_checkpoint
from fedcluster.app.compression import encode_exact, encode_model
from fedcluster.app.exchange import Exchange, exchange
from fedcluster.app.packing import PACK, bundle_arrays, pack_record
from fedcluster.app.personalise import personalise
from fedcluster.app.run_options import (
    build_aggregator,
    round_orders,
    secure_aggregation_for,
)
from fedcluster.app.strategies import Update
from fedcluster.data.standardise import combine_statistics
from fedcluster.errors import RunError
from fedcluster.federation.model import Federation
from fedcluster.report import store
from fedcluster.tasks.base import Task, add_counts
from fedcluster.tasks.registry import task_from_settings

log = logging.getLogger(__name__)

Arrays = dict[str, NDArray[Any]]


@dataclass
class HospitalState:
    """What the server knows of one hospital during a run."""

    name: str
    profile: dict[str, Any] = field(default_factory=dict)
    excluded: str | None = None  # why the hospital takes no part, if it does not


@dataclass
class RoundOutcome:
    contributors: list[str]
    failures: dict[str, str]
    evaluations: dict[str, dict[str, NDArray[np.float64]]]
    train_examples: int
    seconds: float
    bytes_by_hospital: dict[str, dict[str, int]]
    updates: list[Update] = field(default_factory=list)
    # Hospitals taking part in the run that were not online when the round
    # began, so were never asked: not failures, and nothing was released.
    offline: list[str] = field(default_factory=list)


class FederatedRun:
    """Drives one run on a Flower grid and writes it into `run_dir`."""

    def __init__(
        self,
        federation: Federation,
        grid: Grid,
        run_dir: Path,
        *,
        site_baselines: bool = False,
        poll_interval: float = 0.05,
        pack_records: bool | None = None,
    ) -> None:
        self.federation = federation
        self.grid = grid
        self.run_dir = run_dir
        self.site_baselines = site_baselines
        self.poll_interval = poll_interval
        # Deployed, every array is a request to the SuperLink; in simulation
        # messages stay in memory and are left as they are.
        self.pack_records = (
            federation.runtime != "simulation" if pack_records is None else pack_records
        )
        self.task_settings = federation.task.model_dump()
        self.task: Task[Any] = task_from_settings(self.task_settings)
        self.aggregator = build_aggregator(federation)
        # With secure aggregation only the sum of the updates can be read.
        self.secure = secure_aggregation_for(
            federation, grid, identify=self._identify, poll_interval=poll_interval
        )
        self.hospitals = {h.name: HospitalState(h.name) for h in federation.hospitals}
        self.node_hospital: dict[int, str] = {}
        self.statistics: Arrays = {}

    # --- the run -----------------------------------------------------------

    def run(self, *, resume: bool = False) -> Arrays:
        """Train for the federation's rounds; return the final global model."""
        federation = self.federation
        checkpoint = latest_checkpoint(self.run_dir) if resume else None
        if resume and checkpoint is None:
            log.warning("no checkpoint in %s; starting from round 1", self.run_dir)

        self._wait_for_quorum()
        if checkpoint is None:
            self._collect_statistics()
            global_model = self._initial_model()
            pending: dict[str, Any] = {"round": 0}
            first_round = 1
        else:
            global_model, pending = self._restore(checkpoint)
            first_round = checkpoint.round + 1
            log.info("resuming %s after round %d", self.run_dir.name, checkpoint.round)

        for server_round in range(first_round, federation.rounds + 1):
            outcome = self._round(server_round, global_model)
            self._write_metrics(pending, outcome.evaluations)
            global_model = self.aggregator.aggregate(
                server_round, global_model, outcome.updates
            )
            pending = _pending(server_round, outcome)
            save_checkpoint(
                self.run_dir,
                Checkpoint(
                    round=server_round,
                    global_model=global_model,
                    statistics=self.statistics,
                    strategy_state=self.aggregator.state(),
                    pending=pending,
                    hospitals=self._hospital_record(),
                ),
            )
            log.info(
                "round %d/%d: %d hospital(s) contributed",
                server_round,
                federation.rounds,
                len(outcome.contributors),
            )

        final = self._evaluate_final(global_model)
        self._write_metrics(pending, final)
        personalise(self, global_model)
        if self.site_baselines:
            self._local_baselines()
        self._save_model(global_model)
        return global_model

    # --- steps ---------------------------------------------------------------

    def _wait_for_quorum(self, *, starting: bool = True) -> list[int]:
        """Online nodes, once at least `min_hospitals` are; fail after the deadline.

        When a run starts, all listed hospitals are waited for briefly, so
        that it does not start without a hospital that is still connecting;
        later rounds go on with whoever is online.
        """
        federation = self.federation
        expected = len(self._active_hospitals())
        started = time.monotonic()
        grace = min(10.0, federation.quorum_deadline) if starting else 0.0
        while True:
            nodes = list(self.grid.get_node_ids())
            waited = time.monotonic() - started
            if len(nodes) >= expected or (
                len(nodes) >= federation.min_hospitals and waited >= grace
            ):
                return nodes
            if waited >= federation.quorum_deadline:
                raise RunError(
                    f"only {len(nodes)} of {len(federation.hospitals)} hospitals "
                    f"online after {federation.quorum_deadline:.0f} s "
                    f"(min_hospitals = {federation.min_hospitals}); start the "
                    "missing hospitals' SuperNodes or lower min_hospitals"
                )
            time.sleep(self.poll_interval * 4)

    def _collect_statistics(self) -> None:
        result = self.broadcast(
            self._wait_for_quorum(),
            MessageType.QUERY,
            {protocol.INSTRUCTIONS: self._orders(protocol.STATISTICS)},
        )
        site_stats = []
        for node, reply in result.replies.items():
            hospital, error = self._identify(node, reply)
            if hospital is None:
                continue
            if error:
                self.hospitals[hospital].excluded = error
                log.warning("leaving out %s: %s", hospital, error)
                continue
            site = reply.content.config_records[protocol.SITE]
            self.hospitals[hospital].profile = {
                "rows": protocol.whole(site["rows"]),
                "train": protocol.whole(site["train"]),
                "test": protocol.whole(site["test"]),
                "labels": json.loads(str(site["labels"])),
            }
            site_stats.append(
                protocol.arrays_in(reply.content, protocol.SITE_STATISTICS)
            )
        usable = len(site_stats)
        if usable < self.federation.min_hospitals:
            reasons = "; ".join(
                f"{h.name}: {h.excluded}" for h in self.hospitals.values() if h.excluded
            )
            raise RunError(
                f"only {usable} hospital(s) sent usable statistics "
                f"(min_hospitals = {self.federation.min_hospitals})"
                + (f": {reasons}" if reasons else "")
            )
        self.statistics = combine_statistics(site_stats)

    def _initial_model(self) -> Arrays:
        model = self.task.build_model(self.federation.seed)
        return {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}

    def _round(self, server_round: int, global_model: Arrays) -> RoundOutcome:
        """Send the global model to every active hospital and gather replies."""
        nodes = self._active_nodes()
        orders = self._orders(
            protocol.ROUND,
            **{
                "server-round": server_round,
                "local-epochs": self.federation.local_epochs,
            },
            **self.aggregator.client_config,
            **round_orders(self.federation),
            **(
                self.secure.round_orders(nodes, self.node_hospital)
                if self.secure
                else {}
            ),
        )
        content = {protocol.INSTRUCTIONS: orders, **self.model_content(global_model)}
        sent_bytes = protocol.message_bytes(RecordDict(content))
        result = self.broadcast(nodes, MessageType.TRAIN, content)

        outcome = RoundOutcome([], {}, {}, 0, result.seconds, {})
        for node in result.silent:
            name = self.node_hospital.get(node, f"node {node}")
            outcome.failures[name] = (
                f"no reply within {self.federation.round_timeout:g} s"
            )
        for node, reply in result.replies.items():
            hospital, error = self._identify(node, reply)
            name = hospital or f"node {node}"
            outcome.bytes_by_hospital[name] = {
                "sent": sent_bytes,
                "received": protocol.message_bytes(reply.content)
                if reply.has_content()
                else 0,
            }
            if error or hospital is None:
                outcome.failures[name] = error or "unidentified reply"
                continue
            reply_content = reply.content
            update: Arrays | None = None
            try:
                evaluation = protocol.arrays_in(reply_content, protocol.EVALUATION)
                if self.secure is not None:
                    problem = self.secure.take(hospital, reply_content)
                else:
                    update = protocol.arrays_in(reply_content, protocol.UPDATED_MODEL)
                    problem = check_update(update, global_model)
            except (KeyError, ValueError) as unreadable:
                # A reply whose records are missing or whose bytes do not
                # decode is a corrupt update like any other.
                problem = f"unreadable reply ({unreadable})"
            else:
                outcome.evaluations[hospital] = evaluation
            if problem:
                outcome.failures[hospital] = f"update rejected: {problem}"
                log.warning(
                    "round %d: %s's update rejected: %s",
                    server_round,
                    hospital,
                    problem,
                )
                continue
            training = reply_content.metric_records[protocol.TRAINING]
            examples = protocol.whole(training["num-examples"])
            if update is not None:
                outcome.updates.append(Update(hospital, update, examples))
            outcome.contributors.append(hospital)
            outcome.train_examples += examples

        if self.secure is not None:
            outcome.updates = self.secure.unmask(server_round, global_model)
        answered = set(outcome.contributors) | set(outcome.failures)
        if all(node in self.node_hospital for node in nodes):
            # (A silent node never identified could be any of them.)
            outcome.offline = [h for h in self._active_hospitals() if h not in answered]
        if outcome.offline:
            log.warning(
                "round %d: not online, so not asked: %s",
                server_round,
                ", ".join(outcome.offline),
            )
        if len(outcome.contributors) < self.federation.min_hospitals:
            reasons = "; ".join(f"{h}: {r}" for h, r in outcome.failures.items())
            raise RunError(
                f"round {server_round}: only {len(outcome.contributors)} hospital(s) "
                f"contributed (min_hospitals = {self.federation.min_hospitals})"
                + (f" — {reasons}" if reasons else "")
            )
        outcome.contributors.sort()
        return outcome

    def _evaluate_final(self, global_model: Arrays) -> dict[str, Arrays]:
        orders = self._orders(protocol.EVALUATE)
        content = {protocol.INSTRUCTIONS: orders, **self.model_content(global_model)}
        result = self.broadcast(self._active_nodes(), MessageType.EVALUATE, content)
        return self.evaluations(result)

    def _local_baselines(self) -> None:
        """Each hospital trains alone for as many epochs; into baselines.json."""
        epochs = self.federation.rounds * self.federation.local_epochs
        orders = self._orders(protocol.LOCAL_BASELINE, epochs=epochs)
        result = self.broadcast(
            self._active_nodes(), MessageType.EVALUATE, {protocol.INSTRUCTIONS: orders}
        )
        local = {
            hospital: self.task.metrics(counts)
            for hospital, counts in self.evaluations(result).items()
        }
        write_baselines(self.run_dir, {"local": local})

    # --- messages ----------------------------------------------------------

    def broadcast(
        self, nodes: list[int], message_type: str, content: Mapping[str, Any]
    ) -> Exchange:
        """Send `content` to every node in `nodes`; gather replies until timeout."""
        # Every node gets the same records: bundle them once, not per node.
        shared = RecordDict(dict(content))
        if self.pack_records:
            bundle_arrays(shared)
        messages = [
            Message(
                RecordDict(dict(shared)), dst_node_id=node, message_type=message_type
            )
            for node in nodes
        ]
        return exchange(
            self.grid,
            messages,
            timeout=self.federation.round_timeout,
            poll_interval=self.poll_interval,
        )

    def model_content(self, global_model: Arrays) -> dict[str, Any]:
        """The records that carry the global model and the shared statistics."""
        records = {
            protocol.GLOBAL_MODEL: encode_model(global_model, self._compression),
            protocol.GLOBAL_STATISTICS: encode_exact(
                self.statistics, self._compression
            ),
        }
        if self.pack_records:
            return {key: pack_record(record) for key, record in records.items()}
        return records

    def evaluations(self, result: Exchange) -> dict[str, Arrays]:
        """Evaluation counts by hospital, from the replies that carry them."""
        found = {}
        for node, reply in result.replies.items():
            hospital, error = self._identify(node, reply)
            if hospital and not error:
                found[hospital] = protocol.arrays_in(reply.content, protocol.EVALUATION)
            elif hospital:
                log.warning("%s could not evaluate: %s", hospital, error)
        return found

    # --- bookkeeping -------------------------------------------------------

    def _orders(self, action: str, **values: Any) -> Any:
        return protocol.instructions(
            action,
            seed=self.federation.seed,
            task=self.task_settings,
            compression=self._compression,
            **{PACK: self.pack_records},
            **values,
        )

    @property
    def _compression(self) -> str:
        # How model arrays travel both ways; see fedcluster.app.compression.
        return self.federation.traffic.compression

    def _identify(self, node: int, reply: Message) -> tuple[str | None, str | None]:
        """The hospital behind a reply, and the error it reported, if any."""
        if reply.has_error():
            name = self.node_hospital.get(node)
            return name, f"client failed: {reply.error.reason}"
        site = reply.content.config_records.get(protocol.SITE)
        if site is None or str(site.get("hospital", "")) not in self.hospitals:
            log.warning("node %d replied without a known hospital name", node)
            return None, "unknown hospital"
        hospital = str(site["hospital"])
        self.node_hospital[node] = hospital
        error = site.get("error")
        return hospital, str(error) if error else None

    def _active_hospitals(self) -> list[str]:
        return [h.name for h in self.hospitals.values() if h.excluded is None]

    def _active_nodes(self) -> list[int]:
        """Online nodes, less those whose hospital was left out."""
        excluded = {h.name for h in self.hospitals.values() if h.excluded}
        nodes = self._wait_for_quorum(starting=False)
        return [n for n in nodes if self.node_hospital.get(n) not in excluded]

    def _write_metrics(
        self, pending: Mapping[str, Any], evaluations: Mapping[str, Arrays]
    ) -> None:
        per_hospital = {
            name: self.task.metrics(evaluations[name]) for name in sorted(evaluations)
        }
        pooled = (
            self.task.metrics(add_counts([evaluations[n] for n in evaluations]))
            if evaluations
            else {}
        )
        line = {
            "round": int(pending["round"]),
            "hospitals": per_hospital,
            "pooled": pooled,
            "contributors": pending.get("contributors", []),
            "failures": pending.get("failures", {}),
            "offline": pending.get("offline", []),
            "train_examples": pending.get("train_examples", 0),
            "seconds": pending.get("seconds", 0.0),
            "bytes_sent": sum(b["sent"] for b in pending.get("bytes", {}).values()),
            "bytes_received": sum(
                b["received"] for b in pending.get("bytes", {}).values()
            ),
            "bytes_by_hospital": pending.get("bytes", {}),
            "time": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        store.append_metrics(self.run_dir, line)
        self._write_sites()

    def _write_sites(self) -> None:
        store.write_json(self.run_dir / "sites.json", self._hospital_record())

    def _hospital_record(self) -> dict[str, Any]:
        # The Flower node of each hospital, so that a resumed run names a
        # silent hospital before it has heard from it.
        nodes = {name: node for node, name in self.node_hospital.items()}
        return {
            name: {
                "profile": state.profile,
                "excluded": state.excluded,
                "node": nodes.get(name),
            }
            for name, state in self.hospitals.items()
        }

    def _restore(self, checkpoint: Checkpoint) -> tuple[Arrays, dict[str, Any]]:
        self.statistics = checkpoint.statistics
        self.aggregator.restore(checkpoint.strategy_state)
        for name, record in checkpoint.hospitals.items():
            if name in self.hospitals:
                self.hospitals[name].profile = record.get("profile", {})
                self.hospitals[name].excluded = record.get("excluded")
                if record.get("node") is not None:
                    self.node_hospital[int(record["node"])] = name
        return checkpoint.global_model, checkpoint.pending

    def _save_model(self, global_model: Arrays) -> None:
        import io

        import torch

        buffer = io.BytesIO()
        torch.save(
            {
                "state_dict": {
                    k: torch.from_numpy(v.copy()) for k, v in global_model.items()
                },
                "task": self.task_settings,
                "rounds": self.federation.rounds,
            },
            buffer,
        )
        store.write_atomic(self.run_dir / store.MODEL, buffer.getvalue())


def check_update(update: Mapping[str, NDArray[Any]], reference: Arrays) -> str | None:
    """Why an update cannot be aggregated, or None when it can."""
    if set(update) != set(reference):
        missing = sorted(set(reference) - set(update))
        unexpected = sorted(set(update) - set(reference))
        return f"array names differ (missing {missing}, unexpected {unexpected})"
    for name, array in update.items():
        if array.shape != reference[name].shape:
            return f"{name!r} has shape {array.shape}, expected {reference[name].shape}"
        if not np.all(np.isfinite(array)):
            return f"{name!r} holds NaN or infinite values"
    return None


def _pending(server_round: int, outcome: RoundOutcome) -> dict[str, Any]:
    """Training facts of a round, kept until its model's evaluation comes back."""
    return {
        "round": server_round,
        "contributors": outcome.contributors,
        "failures": outcome.failures,
        "offline": outcome.offline,
        "train_examples": outcome.train_examples,
        "seconds": round(outcome.seconds, 4),
        "bytes": outcome.bytes_by_hospital,
    }


def write_baselines(run_dir: Path, baselines: Mapping[str, Any]) -> None:
    """Merge `baselines` into the run's baselines.json."""
    path = run_dir / "baselines.json"
    current: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    current.update(baselines)
    store.write_json(path, current)

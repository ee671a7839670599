"""The ClientApp: runs at a hospital and reads only that hospital's file.

Which file is decided by where the app runs, never by the server: in the
deployed runtimes the SuperNode's node config names the hospital and its data
path; in simulation each virtual node's partition id picks one hospital. The
server only sends the task settings, the global model and aggregate
statistics.
"""

from __future__ import annotations

import json
import logging
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from flwr.app import Context, Message, MetricRecord
from flwr.clientapp import ClientApp

from fedcluster.app import protocol
from fedcluster.app.payload_audit import payload_audit_mod
from fedcluster.app.personalise import personalise_action
from fedcluster.app.run_options import hospital_mods
from fedcluster.app.traffic import compression_mod
from fedcluster.errors import FedclusterError
from fedcluster.tasks.base import Task
from fedcluster.tasks.registry import task_from_settings

log = logging.getLogger(__name__)

# Simulation keeps one ClientApp process per worker for the whole run, so each
# site is read and checked once; deployed ClientApps live for one message.
_site_cache: dict[tuple[Any, ...], Any] = {}


def build_client_app(sites: Sequence[tuple[str, Path]] | None = None) -> ClientApp:
    """The ClientApp. `sites` maps simulation partition ids to hospitals."""
    # The payload audit (off unless its variable is set) sees the reply as it
    # leaves; compression is next, so that it is the last to change a reply.
    # Then secure masking, DP and the test-only attack (see `run_options`).
    client_app = ClientApp(
        mods=[
            payload_audit_mod,
            compression_mod,
            *hospital_mods(lambda context: resolve_site(context, sites)[0]),
        ]
    )

    @client_app.query()
    def statistics(message: Message, context: Context) -> Message:
        return _handle(message, context, sites)

    @client_app.train()
    def train(message: Message, context: Context) -> Message:
        return _handle(message, context, sites)

    @client_app.evaluate()
    def evaluate(message: Message, context: Context) -> Message:
        return _handle(message, context, sites)

    return client_app


def resolve_site(
    context: Context, sites: Sequence[tuple[str, Path]] | None
) -> tuple[str, Path]:
    """This node's hospital name and data file."""
    config = context.node_config
    if "hospital" in config and "data-path" in config:
        return str(config["hospital"]), Path(str(config["data-path"]))
    if sites is not None and "partition-id" in config:
        return sites[protocol.whole(config["partition-id"])]
    raise FedclusterError(
        "this SuperNode has no hospital: start it with "
        "--node-config \"hospital='NAME' data-path='FILE'\""
    )


def _handle(
    message: Message, context: Context, sites: Sequence[tuple[str, Path]] | None
) -> Message:
    hospital, path = resolve_site(context, sites)
    orders = message.content.config_records[protocol.INSTRUCTIONS]
    action = str(orders["action"])
    seed = protocol.whole(orders["seed"])
    try:
        task = task_from_settings(json.loads(str(orders["task"])))
        site = _load_site(task, hospital, path, seed)
        return _ACTIONS[action](message, task, site, hospital, orders)
    except FedclusterError as error:
        # The server records the reason and goes on with the other hospitals.
        log.warning("%s", error)
        return protocol.site_reply(message, hospital, details={"error": str(error)})


def _load_site(task: Task[Any], hospital: str, path: Path, seed: int) -> Any:
    stamp = path.stat().st_mtime_ns if path.exists() else None
    key = (task.name, repr(getattr(task, "params", None)), hospital, path, stamp, seed)
    if key not in _site_cache:
        _site_cache[key] = task.load_site(hospital, path, seed=seed)
    return _site_cache[key]


def _statistics(
    message: Message, task: Task[Any], site: Any, hospital: str, orders: Any
) -> Message:
    profile = task.profile(site)
    details = {
        "rows": profile.rows,
        "train": profile.train_rows,
        "test": profile.test_rows,
        "labels": json.dumps(profile.label_counts),
    }
    return protocol.site_reply(
        message,
        hospital,
        arrays={
            protocol.SITE_STATISTICS: protocol.to_array_record(task.statistics(site))
        },
        details=details,
    )


def _round(
    message: Message, task: Task[Any], site: Any, hospital: str, orders: Any
) -> Message:
    content = message.content
    stats = protocol.arrays_in(content, protocol.GLOBAL_STATISTICS)
    global_model = protocol.arrays_in(content, protocol.GLOBAL_MODEL)
    model = _model_from(task, global_model, protocol.whole(orders["seed"]))

    # Evaluate the model as it arrived: that is the previous round's result.
    evaluation = task.evaluate(model, site, stats)
    outcome = task.train(
        model,
        site,
        stats,
        epochs=protocol.whole(orders["local-epochs"]),
        seed=_training_seed(
            protocol.whole(orders["seed"]),
            protocol.whole(orders["server-round"]),
            hospital,
        ),
        proximal_mu=protocol.real(orders.get("proximal-mu", 0.0)),
    )
    metrics = MetricRecord(
        {"num-examples": outcome.examples, "train-loss": outcome.loss}
    )
    return protocol.site_reply(
        message,
        hospital,
        arrays={
            protocol.UPDATED_MODEL: _record_of(model),
            protocol.EVALUATION: protocol.to_array_record(evaluation),
        },
        metrics=metrics,
    )


def _evaluate(
    message: Message, task: Task[Any], site: Any, hospital: str, orders: Any
) -> Message:
    content = message.content
    stats = protocol.arrays_in(content, protocol.GLOBAL_STATISTICS)
    global_model = protocol.arrays_in(content, protocol.GLOBAL_MODEL)
    model = _model_from(task, global_model, protocol.whole(orders["seed"]))
    evaluation = task.evaluate(model, site, stats)
    return protocol.site_reply(
        message,
        hospital,
        arrays={protocol.EVALUATION: protocol.to_array_record(evaluation)},
    )


def _local_baseline(
    message: Message, task: Task[Any], site: Any, hospital: str, orders: Any
) -> Message:
    # The hospital alone: its own statistics, its own rows, the same epochs.
    seed = protocol.whole(orders["seed"])
    own_stats = task.statistics(site)
    model = task.build_model(seed)
    task.train(
        model, site, own_stats, epochs=protocol.whole(orders["epochs"]), seed=seed
    )
    evaluation = task.evaluate(model, site, own_stats)
    return protocol.site_reply(
        message,
        hospital,
        arrays={protocol.EVALUATION: protocol.to_array_record(evaluation)},
    )


_ACTIONS = {
    protocol.STATISTICS: _statistics,
    protocol.ROUND: _round,
    protocol.EVALUATE: _evaluate,
    protocol.LOCAL_BASELINE: _local_baseline,
    protocol.PERSONALISE: personalise_action,
}


def _model_from(task: Task[Any], arrays: Mapping[str, Any], seed: int) -> Any:
    import torch

    model = task.build_model(seed)
    state = {k: torch.from_numpy(v.copy()) for k, v in arrays.items()}
    model.load_state_dict(state)
    return model


def _record_of(model: Any) -> Any:
    state = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    return protocol.to_array_record(state)


def _training_seed(seed: int, server_round: int, hospital: str) -> int:
    return (seed * 1_000_003 + server_round * 7_919 + zlib.crc32(hospital.encode())) % (
        2**31
    )


# The app that a deployed SuperNode loads: hospital and file from node config.
app = build_client_app()

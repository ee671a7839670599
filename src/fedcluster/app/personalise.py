"""Personalisation: each hospital fine-tunes the final global model on its own rows.

One global model can serve a hospital badly when its patients differ from the
rest (the demo's Switzerland, 93% positive). With `[personalisation]` on, after
the final evaluation the server sends the global model once more; each
hospital trains it for `epochs` local epochs on its own training rows,
scores it on its own test set and returns only the evaluation counts. The
fine-tuned model never leaves the hospital, so personalisation spends no
privacy budget.

Results land in the run's `baselines.json` as `personalised` (per hospital)
and `personalised_pooled` (every test set, each scored by its own hospital's
fine-tuned model), and from there in `summary.json` beside local, federated
and centralized.
"""

from __future__ import annotations

import logging
import zlib
from typing import TYPE_CHECKING, Any

from flwr.app import Message, MessageType

from fedcluster.app import protocol
from fedcluster.tasks.base import Task, add_counts

if TYPE_CHECKING:
    from fedcluster.app.rounds import Arrays, FederatedRun

log = logging.getLogger(__name__)


def personalise_action(
    message: Message, task: Task[Any], site: Any, hospital: str, orders: Any
) -> Message:
    """At the hospital: fine-tune the global model locally, evaluate it."""
    import torch

    content = message.content
    statistics = protocol.arrays_in(content, protocol.GLOBAL_STATISTICS)
    seed = protocol.whole(orders["seed"])
    model = task.build_model(seed)
    model.load_state_dict(
        {
            name: torch.from_numpy(array.copy())
            for name, array in protocol.arrays_in(
                content, protocol.GLOBAL_MODEL
            ).items()
        }
    )
    task.train(
        model,
        site,
        statistics,
        epochs=protocol.whole(orders["epochs"]),
        seed=(seed * 7_919 + zlib.crc32(hospital.encode())) % (2**31),
    )
    evaluation = task.evaluate(model, site, statistics)
    return protocol.site_reply(
        message,
        hospital,
        arrays={protocol.EVALUATION: protocol.to_array_record(evaluation)},
    )


def personalise(run: FederatedRun, global_model: Arrays) -> None:
    """At the server: ask every hospital to personalise; record the results."""
    from fedcluster.app.rounds import write_baselines

    settings = run.federation.personalisation
    if settings is None or not settings.enabled:
        return
    orders = run._orders(protocol.PERSONALISE, epochs=settings.epochs)
    content = {protocol.INSTRUCTIONS: orders, **run.model_content(global_model)}
    result = run.broadcast(run._active_nodes(), MessageType.EVALUATE, content)
    counts: dict[str, Any] = run.evaluations(result)
    if not counts:
        return
    write_baselines(
        run.run_dir,
        {
            "personalised": {
                name: run.task.metrics(counts[name]) for name in sorted(counts)
            },
            "personalised_pooled": run.task.metrics(add_counts(list(counts.values()))),
        },
    )
    log.info("personalised models scored at %d hospital(s)", len(counts))

"""A plain Flower app, the yardstick for `bench/scale.py`.

What a data scientist would write from Flower's documentation with the Message
API: a ServerApp that runs Flower's `FedAvg.start` (a train message and an
evaluate message per hospital per round), and a ClientApp that trains and
scores the same logistic regression as fedcluster's `heart` task (same
inputs: each feature standardised with the hospital's own statistics, missing
values at the mean plus a missing-value flag; same SGD settings) on the same
hospital files. No baselines, no checkpoints, no run store, no report.

The module must be importable by Ray's workers: `bench/scale.py` puts this
folder on PYTHONPATH before it starts a run.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

LEARNING_RATE = 0.1
BATCH_SIZE = 32
WEIGHT_DECAY = 1e-4
TEST_FRACTION = 0.25

# One entry per hospital, loaded once per worker process (partition id -> data).
_sites: dict[int, dict[str, Any]] = {}


def load_site(path: Path, *, features: list[str], label: str, seed: int) -> Any:
    """Train and test tensors of one hospital's file."""
    import torch

    frame = pd.read_csv(path)
    values = frame[features].to_numpy(dtype=np.float64)
    labels = frame[label].to_numpy(dtype=np.float64)
    order = np.random.default_rng(seed).permutation(len(labels))
    test_rows = max(1, round(len(labels) * TEST_FRACTION))
    test, train = order[:test_rows], order[test_rows:]

    mean = np.nanmean(values[train], axis=0)
    mean = np.where(np.isnan(mean), 0.0, mean)
    std = np.nanstd(values[train], axis=0)
    std = np.where(np.isnan(std) | (std < 1e-12), 1.0, std)

    def inputs(rows: np.ndarray) -> Any:
        part = values[rows]
        missing = np.isnan(part)
        scaled = np.where(missing, 0.0, (part - mean) / std)
        both = np.concatenate([scaled, missing.astype(np.float64)], axis=1)
        return torch.from_numpy(both.astype(np.float32))

    return {
        "train_x": inputs(train),
        "train_y": torch.from_numpy(labels[train].astype(np.float32)).reshape(-1, 1),
        "test_x": inputs(test),
        "test_y": torch.from_numpy(labels[test].astype(np.float32)).reshape(-1, 1),
    }


def build_model(inputs: int, seed: int) -> Any:
    import torch
    from torch import nn

    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(inputs, 1))


def build_apps(
    files: list[Path], *, features: list[str], label: str, rounds: int
) -> tuple[Any, Any, list[float]]:
    """The ServerApp, the ClientApp, and the list the server fills with the
    time each round ended."""
    import torch
    from flwr.app import ArrayRecord, Context, Message, MetricRecord, RecordDict
    from flwr.clientapp import ClientApp
    from flwr.serverapp import Grid, ServerApp
    from flwr.serverapp.strategy import FedAvg

    round_ends: list[float] = []
    hospitals = len(files)

    def site(context: Context) -> dict[str, Any]:
        partition = int(context.node_config["partition-id"])
        if partition not in _sites:
            _sites[partition] = load_site(
                files[partition], features=features, label=label, seed=partition
            )
        return _sites[partition]

    client_app = ClientApp()

    @client_app.train()
    def train(message: Message, context: Context) -> Message:
        data = site(context)
        model = build_model(2 * len(features), 0)
        model.load_state_dict(
            message.content.array_records["arrays"].to_torch_state_dict()
        )
        optimiser = torch.optim.SGD(
            model.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY
        )
        loss_fn = torch.nn.BCEWithLogitsLoss()
        order = torch.randperm(len(data["train_x"]))
        total = 0.0
        for start in range(0, len(order), BATCH_SIZE):
            batch = order[start : start + BATCH_SIZE]
            optimiser.zero_grad()
            loss = loss_fn(model(data["train_x"][batch]), data["train_y"][batch])
            loss.backward()
            optimiser.step()
            total += loss.item() * len(batch)
        examples = len(order)
        content = RecordDict(
            {
                "arrays": ArrayRecord(model.state_dict()),
                "metrics": MetricRecord(
                    {"num-examples": examples, "train-loss": total / max(examples, 1)}
                ),
            }
        )
        return Message(content=content, reply_to=message)

    @client_app.evaluate()
    def evaluate(message: Message, context: Context) -> Message:
        data = site(context)
        model = build_model(2 * len(features), 0)
        model.load_state_dict(
            message.content.array_records["arrays"].to_torch_state_dict()
        )
        with torch.no_grad():
            logits = model(data["test_x"])
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                logits, data["test_y"]
            )
            correct = ((logits >= 0) == (data["test_y"] == 1)).float().mean()
        content = RecordDict(
            {
                "metrics": MetricRecord(
                    {
                        "num-examples": len(data["test_y"]),
                        "eval-loss": float(loss),
                        "eval-acc": float(correct),
                    }
                )
            }
        )
        return Message(content=content, reply_to=message)

    class TimedFedAvg(FedAvg):
        def aggregate_evaluate(self, server_round: int, replies: Any) -> Any:
            result = super().aggregate_evaluate(server_round, replies)
            round_ends.append(time.monotonic())
            return result

    server_app = ServerApp()

    @server_app.main()
    def main(grid: Grid, context: Context) -> None:
        strategy = TimedFedAvg(
            fraction_train=1.0,
            fraction_evaluate=1.0,
            min_train_nodes=hospitals,
            min_evaluate_nodes=hospitals,
            min_available_nodes=hospitals,
        )
        model = build_model(2 * len(features), 0)
        strategy.start(
            grid=grid,
            initial_arrays=ArrayRecord(model.state_dict()),
            num_rounds=rounds,
        )

    return server_app, client_app, round_ends

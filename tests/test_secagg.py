"""Secure aggregation: the server can read the sum of the updates and nothing less."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flwr.app import Message

from fedcluster.app import protocol
from fedcluster.app.checkpoint import latest_checkpoint
from fedcluster.app.packing import BUNDLE
from fedcluster.app.secure_masking import WORDS
from fedcluster.errors import FederationFileError
from fedcluster.federation.load import load_federation
from fedcluster.federation.model import Federation
from fedcluster.report import store
from fedcluster.security.secure_sum import decode
from fedcluster.tasks.registry import task_from_settings
from inprocess import InProcessGrid, run_in_process

SECURE = "\n[secure_aggregation]\n"


@pytest.fixture(autouse=True)
def quiet_flower() -> None:
    logging.getLogger("flwr").setLevel(logging.WARNING)


def federation_file(
    demo_federation: Callable[..., Path], extra: str = "", **overrides: object
) -> Federation:
    path = demo_federation(**overrides)
    path.write_text(path.read_text() + extra)
    return load_federation(path)


def round_replies(grid: InProcessGrid) -> list[Message]:
    return [
        reply
        for reply in grid.seen
        if reply.has_content()
        and protocol.EVALUATION in reply.content.array_records
        and protocol.TRAINING in reply.content.metric_records
    ]


def hospital_of(reply: Message) -> str:
    return str(reply.content.config_records[protocol.SITE]["hospital"])


def final_model(run_dir: Path) -> dict[str, Any]:
    checkpoint = latest_checkpoint(run_dir)
    assert checkpoint is not None
    return checkpoint.global_model


def test_the_server_receives_masked_updates_whose_sum_is_the_plain_sum(
    demo_federation: Callable[..., Path], tmp_path: Path
) -> None:
    plain = federation_file(demo_federation, rounds=1)
    secure = federation_file(demo_federation, SECURE, rounds=1)
    _, plain_grid = run_in_process(plain, tmp_path / "plain")
    _, secure_grid = run_in_process(secure, tmp_path / "secure")

    # What each hospital would have sent without masks: [w, w * delta].
    task = task_from_settings(plain.task.model_dump())
    start = {
        name: tensor.numpy()
        for name, tensor in task.build_model(plain.seed).state_dict().items()
    }
    names = sorted(start)
    true_vectors = {}
    for reply in round_replies(plain_grid):
        trained = protocol.arrays_in(reply.content, protocol.UPDATED_MODEL)
        delta = np.concatenate([(trained[n] - start[n]).ravel() for n in names])
        weight = float(reply.content.metric_records[protocol.TRAINING]["num-examples"])
        true_vectors[hospital_of(reply)] = np.concatenate([[weight], weight * delta])

    masked_replies = round_replies(secure_grid)
    assert len(masked_replies) == 4
    for reply in masked_replies:
        assert protocol.UPDATED_MODEL not in reply.content.array_records
        words = reply.content.array_records[protocol.MASKED_UPDATE][WORDS].numpy()
        seen = decode(words, secure.secure_aggregation.precision_bits)  # type: ignore[union-attr]
        true = true_vectors[hospital_of(reply)]
        # The masked vector is noise on the scale of 2^39, not the update.
        assert np.median(np.abs(seen - true)) > 1e6
        assert abs(np.corrcoef(seen[1:], true[1:])[0, 1]) < 0.5

    plain_model = final_model(tmp_path / "plain")
    secure_model = final_model(tmp_path / "secure")
    for name in plain_model:
        np.testing.assert_allclose(secure_model[name], plain_model[name], atol=1e-5)


@pytest.mark.parametrize("pack_records", [False, True], ids=["plain", "bundled"])
def test_a_hospital_that_drops_out_is_unmasked_from_the_sum_by_the_others(
    demo_federation: Callable[..., Path], tmp_path: Path, pack_records: bool
) -> None:
    def switzerland_misses_round_2(node: int, message: Message) -> bool:
        orders = message.content.config_records[protocol.INSTRUCTIONS]
        return (
            node == 4  # Switzerland, the fourth hospital listed
            and orders["action"] == protocol.ROUND
            and orders["server-round"] == 2
        )

    plain = federation_file(demo_federation, rounds=3, round_timeout=0.5)
    secure = federation_file(demo_federation, SECURE, rounds=3, round_timeout=0.5)
    run_in_process(plain, tmp_path / "plain", silence=switzerland_misses_round_2)
    summary, grid = run_in_process(
        secure,
        tmp_path / "secure",
        silence=switzerland_misses_round_2,
        pack_records=pack_records,
    )

    assert summary["status"] == "completed"
    lines = store.read_metrics(tmp_path / "secure")
    assert "Switzerland" in lines[2]["failures"]
    assert "Switzerland" in lines[3]["contributors"]
    key_replies = [
        r for r in grid.seen if "mask-public" in r.content.config_records["site"]
    ]
    assert len(key_replies) == 8  # keys for round 1, and anew for round 3
    bundled = [r for r in grid.seen if BUNDLE in r.content.config_records]
    assert bool(bundled) == pack_records
    plain_model = final_model(tmp_path / "plain")
    secure_model = final_model(tmp_path / "secure")
    for name in plain_model:
        np.testing.assert_allclose(secure_model[name], plain_model[name], atol=1e-5)


def test_secure_aggregation_is_shown_among_the_run_s_security_settings(
    demo_federation: Callable[..., Path], tmp_path: Path
) -> None:
    summary, _ = run_in_process(
        federation_file(demo_federation, SECURE, rounds=1), tmp_path / "run"
    )

    assert summary["security"]["secure_aggregation"]["server reads"] == (
        "only the sum of the updates"
    )
    assert "Secure aggregation" in (tmp_path / "run" / "report.html").read_text()


def test_secure_aggregation_with_a_strategy_that_needs_each_update_is_refused(
    demo_federation: Callable[..., Path],
) -> None:
    path = demo_federation()
    text = path.read_text().replace('name = "fedavg"', 'name = "fedmedian"')
    path.write_text(text + SECURE)

    with pytest.raises(FederationFileError, match="only the sum") as refused:
        load_federation(path)

    assert "\n" not in str(refused.value)


@pytest.mark.slow
def test_the_demo_runs_in_flower_simulation_with_every_option_on(
    demo_federation: Callable[..., Path],
) -> None:
    from fedcluster.runtime.launch import execute, prepare_run

    options = (
        SECURE
        + "\n[personalisation]\nepochs = 2\n"
        + '\n[privacy]\nnoise = "server"\nnoise_multiplier = 0.5\n'
        + "clipping_norm = 2.0\nbudget = 100.0\n"
    )
    federation = federation_file(demo_federation, options, rounds=2)

    summary = execute(federation, prepare_run(federation))

    assert summary["status"] == "completed"
    assert summary["security"]["secure_aggregation"]
    assert summary["privacy"]["hospitals"]["Switzerland"]["rounds"] == 2
    assert "personalised" in summary["results"]["pooled"]
    assert all(
        "personalised" in summary["results"][h.name] for h in federation.hospitals
    )

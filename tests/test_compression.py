"""Update compression: the bytes it saves, the error it costs, what it never rounds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from flwr.app import Message, RecordDict
from flwr.supercore.task_identity import TaskIdentity

from fedcluster.app import protocol
from fedcluster.app.compression import decode_record, encode_exact, encode_model
from fedcluster.app.rounds import check_update
from fedcluster.app.traffic import compression_mod
from fedcluster.federation.traffic import TrafficSettings
from fedcluster.report.egress import bytes_summary


def model(values: int = 20_000) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "0.weight": rng.normal(0, 0.3, (values // 10, 10)).astype(np.float32),
        "0.bias": rng.normal(0, 0.3, 10).astype(np.float32),
    }


def payload(arrays: dict[str, np.ndarray], method: str) -> int:
    return encode_model(arrays, method).count_bytes()


def test_float16_halves_and_int8_quarters_the_bytes_of_a_model() -> None:
    arrays = model()

    plain = payload(arrays, "none")

    assert payload(arrays, "float16") / plain == pytest.approx(0.5, abs=0.01)
    assert payload(arrays, "int8") / plain == pytest.approx(0.25, abs=0.01)


@pytest.mark.parametrize(("method", "tolerance"), [("float16", 1e-3), ("int8", 0.5)])
def test_a_compressed_model_arrives_with_its_shapes_dtypes_and_small_error(
    method: str, tolerance: float
) -> None:
    arrays = model()

    decoded = decode_record(encode_model(arrays, method))

    for name, original in arrays.items():
        assert decoded[name].dtype == original.dtype
        assert decoded[name].shape == original.shape
        span = float(original.max() - original.min())
        error = float(np.abs(decoded[name] - original).max())
        if method == "int8":
            # At most half of one of the 255 steps between min and max.
            assert error <= tolerance * span / 255 + 1e-6
        else:
            assert error <= tolerance * float(np.abs(original).max())


def test_statistics_and_evaluation_counts_arrive_exactly_and_packed() -> None:
    counts = {
        "positives": np.array([0, 3, 250, 7], dtype=np.float64),
        "examples": np.array([70_000.0]),
        "sum_squares": np.array([1.25e9 + 0.3, 7.1]),
        "loss_sum": np.array([41.123456789]),
    }

    record = encode_exact(counts, "int8")
    decoded = decode_record(record)

    for name, original in counts.items():
        assert decoded[name].dtype == original.dtype
        np.testing.assert_array_equal(decoded[name], original)
    assert record.count_bytes() < encode_exact(counts, "none").count_bytes() / 3


def test_an_update_with_nan_still_reaches_the_server_check_and_is_refused() -> None:
    reference = {"w": np.zeros(4, np.float32)}
    poisoned = {"w": np.array([1.0, np.nan, 2.0, 3.0], np.float32)}

    for method in ("float16", "int8"):
        received = decode_record(encode_model(poisoned, method))

        assert check_update(received, reference) == "'w' holds NaN or infinite values"


def test_values_too_large_for_float16_travel_uncompressed_not_as_infinity() -> None:
    huge = {"w": np.array([1e6, -2e6, 0.0, 1.0], np.float32)}

    received = decode_record(encode_model(huge, "float16"))

    np.testing.assert_array_equal(received["w"], huge["w"])


def test_bytes_cut_short_in_transit_are_refused_not_misread() -> None:
    record = encode_model(model(100), "int8")
    array = record["0.weight"]
    array.data = array.data[:-1]

    with pytest.raises(ValueError, match="bytes"):
        decode_record(record)


def test_the_hospital_side_compresses_its_reply_as_the_server_asked() -> None:
    # Messages take their run and sender from the process's task identity.
    TaskIdentity.run_id, TaskIdentity.task_id, TaskIdentity.node_id = 1, 1, 0
    orders = protocol.instructions(protocol.ROUND, seed=0, compression="float16")
    message = Message(
        RecordDict({protocol.INSTRUCTIONS: orders}), dst_node_id=1, message_type="train"
    )
    update = model(1_000)
    counts = {"examples": np.array([12.0])}

    def handler(incoming: Message, context: object) -> Message:
        return protocol.site_reply(
            incoming,
            "North",
            arrays={
                protocol.UPDATED_MODEL: protocol.to_array_record(update),
                protocol.EVALUATION: protocol.to_array_record(counts),
            },
        )

    reply = compression_mod(message, None, handler)  # type: ignore[arg-type]

    sent = reply.content.array_records
    assert sent[protocol.UPDATED_MODEL].count_bytes() < payload(update, "none") / 1.9
    arrived = protocol.arrays_in(reply.content, protocol.EVALUATION)
    np.testing.assert_array_equal(arrived["examples"], counts["examples"])


def test_the_summary_prices_egress_per_gigabyte_for_each_side() -> None:
    metrics = [
        {"round": 0, "bytes_sent": 0, "bytes_received": 0},
        {
            "round": 1,
            "bytes_sent": 2_000_000_000,
            "bytes_received": 1_000_000_000,
            "bytes_by_hospital": {"North": {"sent": 2_000_000_000, "received": 10**9}},
        },
    ]

    moved = bytes_summary(metrics, TrafficSettings(price_per_gb=0.09))

    assert moved["total"] == 3_000_000_000
    assert moved["per_round"] == 3_000_000_000
    assert moved["egress"]["server"] == pytest.approx(0.18)
    assert moved["egress"]["hospitals"] == pytest.approx(0.09)
    assert moved["by_hospital"]["North"]["received"] == 10**9


# --- a real simulated run ---------------------------------------------------

CLI = [sys.executable, "-m", "fedcluster"]


def run_demo(federation_file: Path, compression: str) -> tuple[float, float]:
    """Bytes per round per hospital and final pooled AUC of one demo run."""
    text = federation_file.read_text(encoding="utf-8")
    text += f'\n[traffic]\ncompression = "{compression}"\n'
    path = federation_file.with_name(f"federation-{compression}.toml")
    path.write_text(text, encoding="utf-8")
    runs = federation_file.parent / f"runs-{compression}"
    env = {**os.environ, "FLWR_TELEMETRY_ENABLED": "0", "COLUMNS": "120"}
    result = subprocess.run(
        [*CLI, "run", "-f", str(path), "--runs-dir", str(runs)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    (run_dir,) = runs.iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["bytes"]["compression"] == compression
    hospitals = len(summary["hospitals"])
    per_round = summary["bytes"]["per_round"] / hospitals
    return per_round, summary["results"]["pooled"]["federated"]["auc"]


@pytest.mark.slow
def test_float16_halves_bytes_per_round_and_keeps_the_demo_pooled_auc(
    demo_federation: Callable[..., Path],
) -> None:
    federation_file = demo_federation(rounds=10, seed=0)

    plain_bytes, plain_auc = run_demo(federation_file, "none")
    half_bytes, half_auc = run_demo(federation_file, "float16")
    quarter_bytes, quarter_auc = run_demo(federation_file, "int8")

    assert half_bytes <= plain_bytes / 2
    assert abs(half_auc - plain_auc) <= 0.005
    assert quarter_bytes <= plain_bytes / 4
    assert abs(quarter_auc - plain_auc) <= 0.02

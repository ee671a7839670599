"""What travels in each message between the server and a hospital.

One place names every record key and action, and converts between numpy
dictionaries and Flower records. A hospital only ever sends: model arrays,
the additive statistics of federated standardisation, additive evaluation
counts (score histograms, sums), and scalar metrics. Nothing with one entry
per patient.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, Message, MetricRecord, RecordDict
from numpy.typing import NDArray

from fedcluster.app.compression import decode_record

# The action a message asks for, in its "instructions" config record.
STATISTICS = "statistics"  # preprocessing statistics and a data profile
ROUND = "round"  # evaluate the incoming global model, then train it
EVALUATE = "evaluate"  # evaluate the final global model only
LOCAL_BASELINE = "local-baseline"  # train alone, evaluate on own test set
PERSONALISE = "personalise"  # fine-tune the final model locally, evaluate it
# Secure aggregation (see `fedcluster.app.secure_aggregation`).
SECURE_KEYS = "secure-keys"  # make key pairs, return the public halves
SECURE_SHARES = "secure-shares"  # seal shares of the mask key for each other site
SECURE_UNMASK = "secure-unmask"  # reveal the shares the server needs for the sum

# Record keys.
INSTRUCTIONS = "instructions"
GLOBAL_MODEL = "global-model"
GLOBAL_STATISTICS = "global-statistics"
SITE = "site"  # reply: hospital name, data profile, or the error it hit
SITE_STATISTICS = "site-statistics"
UPDATED_MODEL = "updated-model"
TRAINING = "training"  # reply metrics: num-examples, train-loss
EVALUATION = "evaluation"  # reply: additive evaluation counts
MASKED_UPDATE = "masked-update"  # reply: the update masked; only sums can be read
SEALED_SHARES = "sealed-shares"  # reply: mask shares, each sealed for one site


def to_array_record(arrays: Mapping[str, NDArray[Any]]) -> ArrayRecord:
    return ArrayRecord(
        {key: Array(np.ascontiguousarray(a)) for key, a in arrays.items()}
    )


def from_array_record(record: ArrayRecord) -> dict[str, NDArray[Any]]:
    # Arrays may arrive compressed ([traffic] compression); each names its own
    # encoding, so decoding needs no setting.
    return decode_record(record)


def arrays_in(content: RecordDict, key: str) -> dict[str, NDArray[Any]]:
    """The numpy arrays of the ArrayRecord `key` in a message's content."""
    return from_array_record(content.array_records[key])


def whole(value: object) -> int:
    """A config or metric value that must be a whole number."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(f"expected a number, got {type(value).__name__}")
    return int(value)


def real(value: object) -> float:
    """A config or metric value that must be a number."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(f"expected a number, got {type(value).__name__}")
    return float(value)


def instructions(action: str, **values: Any) -> ConfigRecord:
    record = ConfigRecord({"action": action})
    for key, value in values.items():
        record[key] = json.dumps(value) if isinstance(value, dict) else value
    return record


def site_reply(
    message: Message,
    hospital: str,
    *,
    arrays: Mapping[str, ArrayRecord] | None = None,
    metrics: MetricRecord | None = None,
    details: Mapping[str, Any] | None = None,
) -> Message:
    """A hospital's reply: who it is, plus whatever records the action yields."""
    site = ConfigRecord({"hospital": hospital})
    for key, value in (details or {}).items():
        site[key] = json.dumps(value) if isinstance(value, dict) else value
    content = RecordDict({SITE: site})
    for key, record in (arrays or {}).items():
        content[key] = record
    if metrics is not None:
        content[TRAINING] = metrics
    return Message(content, reply_to=message)


def message_bytes(content: RecordDict) -> int:
    """Bytes of array payload in a message: what dominates the traffic."""
    return sum(record.count_bytes() for record in content.array_records.values())

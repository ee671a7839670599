"""Records packed into one array for deployed runs: lossless, fewer objects,
described member by member in the payload audit, refused when corrupt."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, RecordDict
from flwr.supercore.inflatable.inflatable_object import get_all_nested_objects
from flwr.supercore.task_identity import TaskIdentity

from fedcluster.app import protocol
from fedcluster.app.compression import decode_record, encode_exact, encode_model
from fedcluster.app.packing import PACK, is_packed, pack_record, unpack_record
from fedcluster.app.payload_audit import describe_reply
from fedcluster.app.traffic import COMPRESSION, compression_mod


@pytest.fixture(autouse=True)
def task_identity() -> Iterator[None]:
    # Flower stamps every Message with the task it belongs to.
    TaskIdentity.run_id = 1
    TaskIdentity.node_id = 0
    TaskIdentity.task_id = 1
    yield


def _model() -> dict[str, Any]:
    rng = np.random.default_rng(0)
    return {
        "layer.weight": rng.normal(size=(4, 13)).astype(np.float32),
        "layer.bias": rng.normal(size=(4,)).astype(np.float32),
    }


def _counts() -> dict[str, Any]:
    return {
        "examples": np.array([76.0]),
        "positives": np.arange(100, dtype=np.float64),
        "negatives": np.arange(100, 0, -1, dtype=np.float64),
    }


@pytest.mark.parametrize("method", ["none", "float16", "int8"])
def test_a_packed_record_decodes_to_exactly_what_the_unpacked_one_does(
    method: str,
) -> None:
    for record in (encode_model(_model(), method), encode_exact(_counts(), method)):
        # Act
        packed = pack_record(record)

        # Assert
        assert is_packed(packed) and len(packed) == 1
        plain, travelled = decode_record(record), decode_record(packed)
        assert plain.keys() == travelled.keys()
        for name in plain:
            assert travelled[name].dtype == plain[name].dtype
            np.testing.assert_array_equal(travelled[name], plain[name])


def test_packing_halves_the_objects_a_reply_moves() -> None:
    # Prepare: a reply as a hospital sends it, plain and packed.
    instruction = Message(
        RecordDict({"orders": ConfigRecord({"action": "round"})}),
        dst_node_id=1,
        message_type="train",
    )
    records = {
        "model": encode_model(_model(), "none"),
        "eval": encode_exact(_counts(), "none"),
    }
    plain = protocol.site_reply(instruction, "Hungary", arrays=records)
    packed = protocol.site_reply(
        instruction,
        "Hungary",
        arrays={key: pack_record(record) for key, record in records.items()},
    )

    # Act
    plain_objects = len(get_all_nested_objects(plain))
    packed_objects = len(get_all_nested_objects(packed))

    # Assert: every array was an Array and a chunk; now one of each per record.
    assert plain_objects == 3 + 2 + 2 * 5
    assert packed_objects == 3 + 2 + 2 * 2


def test_the_audit_lists_a_packed_records_members_not_one_opaque_array() -> None:
    instruction = Message(
        RecordDict({"orders": ConfigRecord({"action": "round"})}),
        dst_node_id=1,
        message_type="train",
    )
    reply = protocol.site_reply(
        instruction,
        "Hungary",
        arrays={protocol.EVALUATION: pack_record(encode_exact(_counts(), "none"))},
    )

    described = describe_reply(reply)["arrays"][protocol.EVALUATION]

    assert described == {
        "examples": {"shape": [1], "dtype": "float64"},
        "positives": {"shape": [100], "dtype": "float64"},
        "negatives": {"shape": [100], "dtype": "float64"},
    }


def test_the_hospital_packs_its_reply_only_when_the_server_asks() -> None:
    # Prepare: a ClientApp whose reply holds a model and counts.
    def client(message: Message, context: Context) -> Message:
        return protocol.site_reply(
            message,
            "Hungary",
            arrays={
                protocol.UPDATED_MODEL: protocol.to_array_record(_model()),
                protocol.EVALUATION: protocol.to_array_record(_counts()),
            },
        )

    context = Context(
        run_id=1, node_id=1, node_config={}, state=RecordDict(), run_config={}
    )

    def ask(pack: bool) -> RecordDict:
        orders = protocol.instructions("round", **{COMPRESSION: "none", PACK: pack})
        message = Message(
            RecordDict({protocol.INSTRUCTIONS: orders}),
            dst_node_id=1,
            message_type="train",
        )
        return compression_mod(message, context, client).content

    # Act
    packed, plain = ask(True), ask(False)

    # Assert
    assert all(is_packed(record) for record in packed.array_records.values())
    assert not any(is_packed(record) for record in plain.array_records.values())
    np.testing.assert_array_equal(
        protocol.arrays_in(packed, protocol.UPDATED_MODEL)["layer.bias"],
        _model()["layer.bias"],
    )


@pytest.mark.parametrize("cut", [1, 10, -1])
def test_a_packed_record_whose_bytes_do_not_add_up_is_refused(cut: int) -> None:
    packed = pack_record(encode_exact(_counts(), "none"))
    (array,) = packed.values()
    array.data = array.data[:cut] if cut > 0 else array.data + b"\0"

    with pytest.raises(ValueError, match="packed record"):
        unpack_record(ArrayRecord({"packed": array}))

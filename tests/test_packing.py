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
from fedcluster.app.packing import (
    BUNDLE,
    PACK,
    bundle_arrays,
    is_packed,
    pack_record,
    unbundle_arrays,
    unpack_record,
)
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

    # Assert: asked, the records travel in one bundle, which reads back whole.
    assert not packed.array_records
    assert set(packed.config_records[BUNDLE]) == {
        protocol.UPDATED_MODEL,
        protocol.EVALUATION,
    }
    assert not any(is_packed(record) for record in plain.array_records.values())
    assert BUNDLE not in plain.config_records
    unbundle_arrays(packed)
    np.testing.assert_array_equal(
        protocol.arrays_in(packed, protocol.UPDATED_MODEL)["layer.bias"],
        _model()["layer.bias"],
    )


def _reply_with_records(records: dict[str, ArrayRecord]) -> Message:
    instruction = Message(
        RecordDict({"orders": ConfigRecord({"action": "round"})}),
        dst_node_id=1,
        message_type="train",
    )
    return protocol.site_reply(instruction, "Hungary", arrays=records)


def test_a_bundle_is_one_object_for_all_records_and_reads_back() -> None:
    # Prepare
    reply = _reply_with_records(
        {
            protocol.UPDATED_MODEL: encode_model(_model(), "float16"),
            protocol.EVALUATION: encode_exact(_counts(), "none"),
        }
    )
    before = {key: decode_record(r) for key, r in reply.content.array_records.items()}

    # Act
    bundle_arrays(reply.content)
    objects = len(get_all_nested_objects(reply))
    unbundle_arrays(reply.content)

    # Assert: message, record dict, site record and the bundle.
    assert objects == 4
    assert BUNDLE not in reply.content.config_records
    for key, arrays in before.items():
        travelled = decode_record(reply.content.array_records[key])
        for name, array in arrays.items():
            np.testing.assert_array_equal(travelled[name], array)


def test_records_too_large_to_bundle_stay_packed_in_place(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fedcluster.app import packing

    monkeypatch.setattr(packing, "BUNDLE_LIMIT", 100)
    reply = _reply_with_records({protocol.EVALUATION: encode_exact(_counts(), "none")})

    bundle_arrays(reply.content)

    assert BUNDLE not in reply.content.config_records
    assert is_packed(reply.content.array_records[protocol.EVALUATION])


def test_a_bundle_whose_bytes_do_not_add_up_is_refused_and_left_as_it_was() -> None:
    reply = _reply_with_records({protocol.EVALUATION: encode_exact(_counts(), "none")})
    bundle_arrays(reply.content)
    bundle = reply.content.config_records[BUNDLE]
    bundle[protocol.EVALUATION] = bundle[protocol.EVALUATION][:-3]  # type: ignore[index]

    with pytest.raises(ValueError, match="packed record"):
        unbundle_arrays(reply.content)
    assert BUNDLE in reply.content.config_records
    assert not reply.content.array_records


def test_the_server_reports_an_unreadable_bundle_as_that_hospitals_failure() -> None:
    from fedcluster.app.exchange import unbundled

    reply = _reply_with_records({protocol.EVALUATION: encode_exact(_counts(), "none")})
    bundle_arrays(reply.content)
    reply.content.config_records[BUNDLE][protocol.EVALUATION] = b"\x01\x02"

    site = unbundled(reply).content.config_records[protocol.SITE]

    assert site["hospital"] == "Hungary"
    assert "unreadable reply (packed record" in str(site["error"])


def test_the_audit_lists_each_bundled_records_members_under_its_name() -> None:
    reply = _reply_with_records({protocol.EVALUATION: encode_exact(_counts(), "none")})
    bundle_arrays(reply.content)

    described = describe_reply(reply)

    assert described["arrays"] == {
        protocol.EVALUATION: {
            "examples": {"shape": [1], "dtype": "float64"},
            "positives": {"shape": [100], "dtype": "float64"},
            "negatives": {"shape": [100], "dtype": "float64"},
        }
    }
    assert BUNDLE not in described["configs"]


@pytest.mark.parametrize("cut", [1, 10, -1])
def test_a_packed_record_whose_bytes_do_not_add_up_is_refused(cut: int) -> None:
    packed = pack_record(encode_exact(_counts(), "none"))
    (array,) = packed.values()
    array.data = array.data[:cut] if cut > 0 else array.data + b"\0"

    with pytest.raises(ValueError, match="packed record"):
        unpack_record(ArrayRecord({"packed": array}))

"""A whole record of arrays as one Flower `Array`, for the deployed runtimes.

Flower 1.42 moves a message as separate objects: the message, its record
dict, each record, and for every array an `Array` and its chunk. In a
deployed run each object is one HTTPS request to the SuperLink, and each
request costs it several database writes; with a dozen arrays in flight per
hospital per round, the SuperLink's single process is busy for seconds of
every round. Packing each record's arrays into one `Array` roughly halves the
objects a round moves.

A packed record holds one array, `PACKED_NAME`, of stype `PACKED`: a 4-byte
length, a JSON list describing each member (name, stype, dtype, shape, byte
count), then the members' bytes one after another. Each member keeps its own
encoding (Flower's `.npy`, or a compressed one), so packing is lossless and
needs no setting to undo. The server asks for it in each message's
instructions (`PACK`) when the run is deployed; simulation moves objects in
memory and does not pack.

A packed message goes one step further: `bundle_arrays` moves the packed
bytes of all its array records into one config record, `BUNDLE` (record
name to packed bytes), one object where each record was three (record,
array, chunk). A round's instruction is then 4 objects instead of 9, a reply
5 instead of 10. `unbundle_arrays` puts the records back where a message
arrives, so nothing else sees the difference. Messages whose arrays pass
`BUNDLE_LIMIT` bytes keep them in Flower's arrays, which travel in chunks.
"""

from __future__ import annotations

import json
import struct
from typing import Any

from flwr.app import Array, ArrayRecord, ConfigRecord, RecordDict

PACKED = "fedcluster.packed"
PACKED_NAME = "packed"
# The key in a message's instructions asking the hospital to pack its reply.
PACK = "pack"
# The config record that carries a message's packed array records.
BUNDLE = "fedcluster.arrays"
BUNDLE_LIMIT = 16 * 1024 * 1024

_LENGTH = struct.Struct("<I")


def pack_record(record: ArrayRecord) -> ArrayRecord:
    """`record` as a record of one packed array; a packed record as it is."""
    if is_packed(record):
        return record
    members = list(record.items())
    header = json.dumps(
        [
            {
                "name": name,
                "stype": array.stype,
                "dtype": array.dtype,
                "shape": [int(n) for n in array.shape],
                "bytes": len(array.data),
            }
            for name, array in members
        ]
    ).encode()
    data = b"".join(
        [_LENGTH.pack(len(header)), header, *(array.data for _, array in members)]
    )
    return _packed_record(data)


def _packed_record(data: bytes) -> ArrayRecord:
    packed = Array(dtype="uint8", shape=(len(data),), stype=PACKED, data=data)
    return ArrayRecord({PACKED_NAME: packed})


def is_packed(record: ArrayRecord) -> bool:
    return len(record) == 1 and next(iter(record.values())).stype == PACKED


def unpack_record(record: ArrayRecord) -> ArrayRecord:
    """The members of a packed record; any other record as it is.

    Raises ValueError when the packed bytes do not add up.
    """
    if not is_packed(record):
        return record
    data = next(iter(record.values())).data
    members = packed_members(data)
    offset = _LENGTH.size + _LENGTH.unpack_from(data)[0]
    unpacked = {}
    for member in members:
        end = offset + member["bytes"]
        unpacked[member["name"]] = Array(
            dtype=member["dtype"],
            shape=tuple(member["shape"]),
            stype=member["stype"],
            data=data[offset:end],
        )
        offset = end
    return ArrayRecord(unpacked)


def packed_members(data: bytes) -> list[dict[str, Any]]:
    """Names, stypes, dtypes, shapes and sizes of a packed array's members."""
    if len(data) < _LENGTH.size:
        raise ValueError("packed record is shorter than its header length")
    length = _LENGTH.unpack_from(data)[0]
    try:
        members = json.loads(data[_LENGTH.size : _LENGTH.size + length])
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"packed record has an unreadable header ({error})") from None
    if not isinstance(members, list):
        raise ValueError("packed record header is not a list of members")
    expected = _LENGTH.size + length + sum(int(m["bytes"]) for m in members)
    if expected != len(data):
        raise ValueError(
            f"packed record has {len(data)} bytes; its header describes {expected}"
        )
    return members


def bundle_arrays(content: RecordDict) -> None:
    """Move every array record of `content` into its `BUNDLE`, packed.

    Leaves the records packed but in place when they hold more than
    `BUNDLE_LIMIT` bytes.
    """
    packed = {key: pack_record(record) for key, record in content.array_records.items()}
    if not packed:
        return
    payloads = {key: next(iter(record.values())).data for key, record in packed.items()}
    if sum(len(payload) for payload in payloads.values()) > BUNDLE_LIMIT:
        for key, record in packed.items():
            content[key] = record
        return
    for key in payloads:
        del content[key]
    content[BUNDLE] = ConfigRecord(dict(payloads))


def unbundle_arrays(content: RecordDict) -> None:
    """Put the array records of `content`'s `BUNDLE` back, packed, in place.

    Raises ValueError, leaving `content` as it was, when the bundle does not
    read as packed records.
    """
    bundle = content.config_records.get(BUNDLE)
    if bundle is None:
        return
    restored = {}
    for key, payload in bundle.items():
        if not isinstance(payload, bytes):
            raise ValueError(f"bundled record {key!r} is not bytes")
        packed_members(payload)
        restored[key] = _packed_record(payload)
    del content[BUNDLE]
    for key, record in restored.items():
        content[key] = record

"""How arrays travel: Flower's NumPy format, or compressed, in both directions.

With `[traffic] compression = "none"` every array goes as Flower serialises a
NumPy array (a `.npy` file: a header of about 128 bytes, then the values).
Otherwise each array goes as raw bytes under a type name of our own, with its
original dtype and shape in the `Array` fields Flower already carries:

- model arrays, lossy: `float16` stores each value in 16 bits; `int8` maps each
  tensor's range [min, max] onto 256 levels, sending the minimum and the step
  (two float32s) then one byte per value, so each value is off by at most half
  a step;
- exact records (federation statistics, evaluation counts): never rounded.
  Whole-number arrays (counts, histograms) go as the narrowest unsigned
  integer that holds them, anything else as its own dtype.

A tensor that compression would damage beyond its rounding (values too large
for float16, or NaN and infinities that have no range) goes uncompressed, so
the server's checks on every update see exactly what the hospital computed.
The receiver needs no setting: each `Array` names how it was encoded.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any

import numpy as np
from flwr.app import Array, ArrayRecord
from numpy.typing import NDArray

from fedcluster.app.packing import unpack_record

Method = str  # "none", "float16" or "int8"; see fedcluster.federation.traffic

FLOAT16 = "fedcluster.float16"
INT8 = "fedcluster.int8-affine"
UINT = "fedcluster.uint"  # dtype field: original dtype; width from data length
RAW = "fedcluster.raw"  # raw bytes in the original dtype, no .npy header

_FLOAT16_MAX = float(np.finfo(np.float16).max)
_INT8_HEADER = struct.Struct("<ff")  # minimum, step


def encode_model(arrays: Mapping[str, NDArray[Any]], method: Method) -> ArrayRecord:
    """Model arrays, compressed by `method` (lossy for float16 and int8)."""
    if method == "none":
        return _numpy_record(arrays)
    encode = {"float16": _float16, "int8": _int8}.get(method)
    if encode is None:
        raise ValueError(f"unknown compression {method!r}; use none, float16 or int8")
    return ArrayRecord(
        {
            name: encode(np.ascontiguousarray(array))
            if np.issubdtype(array.dtype, np.floating)
            else _raw(np.ascontiguousarray(array))
            for name, array in arrays.items()
        }
    )


def encode_exact(arrays: Mapping[str, NDArray[Any]], method: Method) -> ArrayRecord:
    """Arrays that must arrive exactly; packed tight unless `method` is none."""
    if method == "none":
        return _numpy_record(arrays)
    return ArrayRecord(
        {name: _exact(np.ascontiguousarray(a)) for name, a in arrays.items()}
    )


def decode_record(record: ArrayRecord) -> dict[str, NDArray[Any]]:
    """Every array of `record` as NumPy, whichever way it was encoded, and
    whether or not the record travelled packed (see `packing`)."""
    members = unpack_record(record)
    return {name: decode_array(array) for name, array in members.items()}


def decode_array(array: Array) -> NDArray[Any]:
    """One array as NumPy; ValueError when its bytes do not fit its fields."""
    if array.stype not in (FLOAT16, INT8, UINT, RAW):
        return np.asarray(array.numpy())
    dtype = np.dtype(array.dtype)
    shape = tuple(int(n) for n in array.shape)
    size = int(np.prod(shape, dtype=np.int64))
    data = array.data
    if array.stype == FLOAT16:
        values = _frombuffer(data, np.dtype(np.float16), size)
    elif array.stype == INT8:
        if len(data) != _INT8_HEADER.size + size:
            raise ValueError(f"int8 array of {size} values has {len(data)} bytes")
        low, step = _INT8_HEADER.unpack_from(data)
        levels = np.frombuffer(data, np.uint8, offset=_INT8_HEADER.size)
        values = np.float32(low) + levels.astype(np.float32) * np.float32(step)
    elif array.stype == UINT:
        width = len(data) // size if size else 1
        if width not in (1, 2, 4, 8):
            raise ValueError(f"integer array of {size} values has {len(data)} bytes")
        values = _frombuffer(data, np.dtype(f"<u{width}"), size)
    else:
        values = _frombuffer(data, dtype, size)
    return values.astype(dtype).reshape(shape)


# --- encoders ---------------------------------------------------------------


def _numpy_record(arrays: Mapping[str, NDArray[Any]]) -> ArrayRecord:
    return ArrayRecord(
        {name: Array(np.ascontiguousarray(a)) for name, a in arrays.items()}
    )


def _float16(array: NDArray[Any]) -> Array:
    finite = array[np.isfinite(array)]
    if finite.size and float(np.abs(finite).max()) > _FLOAT16_MAX:
        return _raw(array)
    return _array(array, FLOAT16, array.astype("<f2").tobytes())


def _int8(array: NDArray[Any]) -> Array:
    if array.size == 0 or not np.all(np.isfinite(array)):
        return _raw(array)
    low, high = float(array.min()), float(array.max())
    step = (high - low) / 255.0
    if step == 0.0 or not np.isfinite(step):
        step = 1.0
    levels = np.clip(np.rint((array - low) / step), 0, 255).astype(np.uint8)
    return _array(array, INT8, _INT8_HEADER.pack(low, step) + levels.tobytes())


def _exact(array: NDArray[Any]) -> Array:
    if array.size and np.all(np.isfinite(array)):
        whole = np.array_equal(array, np.rint(array)) and float(array.min()) >= 0
        if whole and float(array.max()) < 2.0**53:
            largest = int(array.max())
            for width in (1, 2, 4, 8):
                if largest < 2 ** (8 * width):
                    packed = array.astype(f"<u{width}").tobytes()
                    return _array(array, UINT, packed)
    return _raw(array)


def _raw(array: NDArray[Any]) -> Array:
    little = array.astype(array.dtype.newbyteorder("<"), copy=False)
    return _array(array, RAW, little.tobytes())


def _array(original: NDArray[Any], stype: str, data: bytes) -> Array:
    return Array(
        dtype=str(original.dtype),
        shape=tuple(int(n) for n in original.shape),
        stype=stype,
        data=data,
    )


def _frombuffer(data: bytes, dtype: np.dtype[Any], size: int) -> NDArray[Any]:
    if len(data) != size * dtype.itemsize:
        raise ValueError(
            f"array of {size} {dtype} values has {len(data)} bytes, "
            f"expected {size * dtype.itemsize}"
        )
    return np.frombuffer(data, dtype=dtype.newbyteorder("<"))

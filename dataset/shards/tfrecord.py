"""TFRecord files of ``tf.train.Example`` records, with or without TensorFlow installed.

A TFRecord file is a sequence of frames::

    uint64 length (little endian) | uint32 masked crc32c(length) | data | uint32 masked crc32c(data)

and each ``data`` is a serialized ``tf.train.Example`` protobuf. This module writes both
parts in pure Python (crc32c with a lookup table, or ``google-crc32c`` when installed, and
a minimal protobuf encoder for the three feature kinds), so the ``dataset`` extra does
not need TensorFlow; :func:`open_writer` uses TensorFlow's own writer when it is
importable. Both produce the same records: files differ at most in the order of the
features inside an Example (ours: sorted keys; protobuf's own deterministic order depends
on its implementation), which no reader sees.

>>> data = encode_example({"label": [1.0, 0.0], "repeat": [2], "image_path": [b"a.jpg"]})
>>> frame(data)[:8] == len(data).to_bytes(8, "little")
True
"""

from __future__ import annotations

import functools
import logging
import os
import struct
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

logger = logging.getLogger(__name__)

FeatureValue = Sequence[bytes] | Sequence[float] | Sequence[int]

_CRC32C_POLY = 0x82F63B78  # Castagnoli, reflected
_MASK_DELTA = 0xA282EAD8


def _make_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _CRC32C_POLY if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _make_table()


def crc32c_python(data: bytes) -> int:
    """CRC-32C of ``data`` (the checksum TFRecord frames use).

    >>> hex(crc32c_python(b"123456789"))
    '0xe3069283'
    """
    crc = 0xFFFFFFFF
    table = _TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


@functools.cache
def _crc32c_impl() -> Any:
    # google-crc32c is a C extension, ~100x faster than the table loop on large images.
    try:
        import google_crc32c  # type: ignore[import-not-found]
    except ImportError:
        return crc32c_python
    return google_crc32c.value


def masked_crc32c(data: bytes) -> int:
    crc = _crc32c_impl()(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def frame(data: bytes) -> bytes:
    """One TFRecord frame holding ``data``."""
    length = struct.pack("<Q", len(data))
    return (
        length
        + struct.pack("<I", masked_crc32c(length))
        + data
        + struct.pack("<I", masked_crc32c(data))
    )


# --- minimal protobuf encoder for tf.train.Example --------------------------------------


def _varint(value: int) -> bytes:
    value &= 0xFFFFFFFFFFFFFFFF  # negative int64s are 10-byte two's complement varints
    out = bytearray()
    while True:
        bits = value & 0x7F
        value >>= 7
        if value:
            out.append(bits | 0x80)
        else:
            out.append(bits)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2)."""
    return _varint((number << 3) | 2) + _varint(len(payload)) + payload


def _feature(values: FeatureValue) -> bytes:
    # Feature.kind: bytes_list = 1, float_list = 2, int64_list = 3; lists are field 1.
    items = list(values)
    if items and isinstance(items[0], bytes | bytearray):
        body = b"".join(_field(1, bytes(v)) for v in items)  # type: ignore[call-overload]
        return _field(1, body)
    if items and isinstance(items[0], float):
        packed = struct.pack(f"<{len(items)}f", *items)
        return _field(2, _field(1, packed))
    if items and isinstance(items[0], int) and not isinstance(items[0], bool):
        packed = b"".join(_varint(int(v)) for v in items)  # type: ignore[call-overload]
        return _field(3, _field(1, packed))
    if not items:
        raise ValueError("an empty feature list has no type; pass [] of a typed feature")
    raise TypeError(f"unsupported feature value type {type(items[0]).__name__}")


def encode_example(features: Mapping[str, FeatureValue]) -> bytes:
    """Serialize a ``tf.train.Example`` (features in sorted key order, so the same record
    always gives the same bytes). Values: a list of bytes, of floats or of ints."""
    entries = []
    for key in sorted(features):
        entry = _field(1, key.encode("utf-8")) + _field(2, _feature(features[key]))
        entries.append(_field(1, entry))
    return _field(1, b"".join(entries))


# --- writers --------------------------------------------------------------------------


class RecordWriter(Protocol):
    def write(self, features: Mapping[str, FeatureValue]) -> None: ...
    def close(self) -> None: ...


class PythonRecordWriter:
    """Pure-Python TFRecord writer (no compression)."""

    def __init__(self, path: str | Path) -> None:
        self._handle = open(path, "wb")  # noqa: SIM115 - closed by close()/__exit__

    def write(self, features: Mapping[str, FeatureValue]) -> None:
        self._handle.write(frame(encode_example(features)))

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> PythonRecordWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class TensorFlowRecordWriter:
    """``tf.io.TFRecordWriter`` with ``tf.train.Example`` protos."""

    def __init__(self, path: str | Path) -> None:
        tf = _import_tensorflow()
        self._tf = tf
        self._writer = tf.io.TFRecordWriter(str(path))

    def write(self, features: Mapping[str, FeatureValue]) -> None:
        tf = self._tf
        feature = {}
        for key, values in features.items():
            items = list(values)
            if items and isinstance(items[0], bytes | bytearray):
                feature[key] = tf.train.Feature(bytes_list=tf.train.BytesList(value=items))
            elif items and isinstance(items[0], float):
                feature[key] = tf.train.Feature(float_list=tf.train.FloatList(value=items))
            else:
                feature[key] = tf.train.Feature(int64_list=tf.train.Int64List(value=items))
        example = tf.train.Example(features=tf.train.Features(feature=feature))
        self._writer.write(example.SerializeToString(deterministic=True))

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> TensorFlowRecordWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _import_tensorflow() -> Any:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # no C++ banner in progress bars
    import tensorflow as tf

    return tf


def tensorflow_available() -> bool:
    try:
        _import_tensorflow()
    except ImportError:
        return False
    return True


def open_writer(path: str | Path, writer: str = "auto") -> RecordWriter:
    """A writer for ``path``: ``"tensorflow"``, ``"python"`` or ``"auto"`` (TensorFlow's
    when it is importable, else the pure-Python one)."""
    if writer == "tensorflow" or (writer == "auto" and tensorflow_available()):
        return TensorFlowRecordWriter(path)
    if writer not in ("auto", "python"):
        raise ValueError(f"unknown TFRecord writer {writer!r}: use auto, tensorflow or python")
    return PythonRecordWriter(path)

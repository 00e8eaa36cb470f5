"""Read the TFRecord shards back without TensorFlow: frames with their checksums, and
``tf.train.Example`` records decoded to plain Python lists.

The counterpart of :mod:`dataset.shards.tfrecord` (same crc32c, same three feature
kinds), for machines with no TensorFlow (a JAX training node). A frame whose length or
data checksum is wrong, or that is cut short, raises :class:`CorruptFrame`: like
TensorFlow's reader, nothing after it in that file can be trusted to be framed right.
A frame that is intact but holds no valid Example raises ``ValueError`` from
:func:`decode_example` (a corrupt record, counted by the caller).

>>> import tempfile
>>> from dataset.shards.tfrecord import encode_example, frame
>>> data = encode_example({"label": [1.0, 0.0], "repeat": [2], "image": [b"jpg"]})
>>> with tempfile.NamedTemporaryFile() as f:
...     _ = f.write(frame(data) * 2); f.flush()
...     [decode_example(d)["repeat"] for _, d in read_frames(f.name)]
[[2], [2]]
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dataset.shards.tfrecord import masked_crc32c

HEADER = 12  # uint64 length + uint32 masked crc of the length
FOOTER = 4  # uint32 masked crc of the data


class CorruptFrame(Exception):
    """A frame that fails its checksum or ends early; ``offset`` is where it starts."""

    def __init__(self, source: str, offset: int, reason: str) -> None:
        super().__init__(f"{source}: corrupt TFRecord frame at byte {offset}: {reason}")
        self.source = source
        self.offset = offset


def read_frame(fd: int, source: str, offset: int) -> bytes | None:
    """The data of the frame at ``offset`` of the open file ``fd`` (checksums verified);
    ``None`` at the end. Reads with ``pread``: threads may share ``fd``."""
    header = os.pread(fd, HEADER, offset)
    if not header:
        return None
    if len(header) < HEADER:
        raise CorruptFrame(source, offset, "truncated header")
    (length,) = struct.unpack("<Q", header[:8])
    if struct.unpack("<I", header[8:])[0] != masked_crc32c(header[:8]):
        raise CorruptFrame(source, offset, "length checksum mismatch")
    body = os.pread(fd, length + FOOTER, offset + HEADER)
    if len(body) < length + FOOTER:
        raise CorruptFrame(source, offset, "truncated data")
    data = body[:length]
    if struct.unpack("<I", body[length:])[0] != masked_crc32c(data):
        raise CorruptFrame(source, offset, "data checksum mismatch")
    return data


def read_frames(path: str | Path) -> Iterator[tuple[int, bytes]]:
    """``(offset, data)`` of every frame of the file; :class:`CorruptFrame` ends it."""
    fd = os.open(path, os.O_RDONLY)
    try:
        offset = 0
        while (data := read_frame(fd, str(path), offset)) is not None:
            yield offset, data
            offset += HEADER + len(data) + FOOTER
    finally:
        os.close(fd)


# --- minimal protobuf decoder for tf.train.Example ------------------------------------


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _fields(buf: bytes) -> Iterator[tuple[int, int, Any]]:
    """``(field number, wire type, value)``: value is an int (varint, fixed) or bytes."""
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 2:
            size, pos = _varint(buf, pos)
            if pos + size > end:
                raise ValueError("truncated field")
            value, pos = buf[pos : pos + size], pos + size
        elif wire == 5:
            if pos + 4 > end:
                raise ValueError("truncated fixed32")
            value, pos = buf[pos : pos + 4], pos + 4
        elif wire == 1:
            if pos + 8 > end:
                raise ValueError("truncated fixed64")
            value, pos = buf[pos : pos + 8], pos + 8
        else:
            raise ValueError(f"unsupported wire type {wire}")
        yield number, wire, value


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _feature(buf: bytes) -> list[Any]:
    for kind, _, body in _fields(buf):
        values: list[Any] = []
        for number, wire, value in _fields(body):
            if number != 1:
                continue
            if kind == 1:  # bytes_list
                values.append(bytes(value))
            elif kind == 2:  # float_list: packed (wire 2) or one fixed32 each (wire 5)
                values.extend(struct.unpack(f"<{len(value) // 4}f", value))
            elif kind == 3 and wire == 2:  # int64_list, packed
                pos = 0
                while pos < len(value):
                    item, pos = _varint(value, pos)
                    values.append(_signed(item))
            elif kind == 3:
                values.append(_signed(value))
        return values
    return []  # a feature with no kind: an empty list


def decode_example(data: bytes) -> dict[str, list[Any]]:
    """``{feature name: values}`` of a serialized ``tf.train.Example``; ``ValueError`` when
    ``data`` is not one."""
    features: dict[str, list[Any]] = {}
    for number, wire, body in _fields(data):
        if number != 1 or wire != 2:
            raise ValueError(f"not a tf.train.Example (field {number}, wire type {wire})")
        for entry_number, _, entry in _fields(body):
            if entry_number != 1:
                continue
            key, value = "", b""
            for part, _, content in _fields(entry):
                if part == 1:
                    key = bytes(content).decode("utf-8")
                elif part == 2:
                    value = content
            features[key] = _feature(value)
    return features

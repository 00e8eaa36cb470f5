"""The pure-Python TFRecord writer against TensorFlow's own writer and reader."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dataset.shards.tfrecord import (
    PythonRecordWriter,
    TensorFlowRecordWriter,
    crc32c_python,
    encode_example,
    frame,
    masked_crc32c,
)

RECORDS = [
    {
        "image": [b"\xff\xd8\xff" + bytes(range(256)) * 40],
        "image_path": ["raw/demo/images/é.jpg".encode()],
        "label/colour": [1.0, 0.0, 0.5, 1.0],
        "label/type": [0.0, 1.0],
        "repeat": [3],
        "pair_id": [b""],
        "domain": [b"user"],
        "many": [-1, 0, 2**40, 127, 128],
    },
    {
        "image": [b"x"],
        "image_path": [b"a/b.jpg"],
        "label/colour": [0.0, 0.0, 0.0, 0.0],
        "label/type": [1.0, 0.0],
        "repeat": [1],
        "pair_id": [b"design-7"],
        "domain": [b"shop"],
        "many": [5],
    },
]


def test_crc32c_known_values() -> None:
    assert crc32c_python(b"123456789") == 0xE3069283  # the standard check value
    assert crc32c_python(b"") == 0
    assert crc32c_python(bytes(32)) == 0x8A9136AA  # RFC 3720 test vector
    assert masked_crc32c(b"") == 0xA282EAD8


def test_frame_layout() -> None:
    data = encode_example(RECORDS[1])
    framed = frame(data)
    assert len(framed) == 8 + 4 + len(data) + 4
    assert framed[12:-4] == data


def test_unsupported_values_are_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        encode_example({"x": []})
    with pytest.raises(TypeError, match="str"):
        encode_example({"x": ["text"]})  # type: ignore[list-item]


def _read_with_tensorflow(path: Path) -> list[dict[str, object]]:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    spec = {
        "image": tf.io.FixedLenFeature([], tf.string),
        "image_path": tf.io.FixedLenFeature([], tf.string),
        "label/colour": tf.io.FixedLenFeature([4], tf.float32),
        "label/type": tf.io.FixedLenFeature([2], tf.float32),
        "repeat": tf.io.FixedLenFeature([], tf.int64),
        "pair_id": tf.io.FixedLenFeature([], tf.string),
        "domain": tf.io.FixedLenFeature([], tf.string),
        "many": tf.io.VarLenFeature(tf.int64),
    }
    out = []
    for raw in tf.data.TFRecordDataset(str(path)):
        parsed = tf.io.parse_single_example(raw, spec)
        parsed["many"] = tf.sparse.to_dense(parsed["many"])
        out.append(
            {k: v.numpy().tolist() if v.shape.rank else v.numpy() for k, v in parsed.items()}
        )
    return out


def test_tensorflow_reads_both_writers_identically(tmp_path: Path) -> None:
    pure, native = tmp_path / "pure.tfrecord", tmp_path / "tf.tfrecord"
    with PythonRecordWriter(pure) as writer:
        for record in RECORDS:
            writer.write(record)
    with TensorFlowRecordWriter(native) as writer:
        for record in RECORDS:
            writer.write(record)
    # Same framing and size; only the order of features inside an Example may differ.
    assert pure.stat().st_size == native.stat().st_size
    parsed = _read_with_tensorflow(pure)
    assert parsed == _read_with_tensorflow(native)
    assert len(parsed) == 2
    first = parsed[0]
    assert first["image"] == RECORDS[0]["image"][0]
    assert first["image_path"] == "raw/demo/images/é.jpg".encode()
    assert first["label/colour"] == [1.0, 0.0, 0.5, 1.0]
    assert first["repeat"] == 3
    assert first["pair_id"] == b""
    assert first["many"] == [-1, 0, 2**40, 127, 128]
    assert parsed[1]["pair_id"] == b"design-7"

"""Encode images in batches and combine the task encodings into one search vector.

Images are read from a store (in parallel threads), decoded, cropped to an optional box
and resized by a ``tf.data`` pipeline (by OpenCV in threads where TensorFlow is not
importable), then encoded batch by batch. An image that
cannot be read or decoded is dropped and counted; callers get back the positions kept.

The combination (which encodings, with which weights) is data recorded in every index, so
a query is always encoded the way its gallery was. An encoder with the pair-trained head
(``retrieval_embedding``) is searched with it alone by default
(:func:`choose_combination`); the attribute concatenation is the baseline and fallback:

>>> c = Combination.parse(["colour", "type"], "colour=1,type=2")
>>> c.weights
{'colour': 1.0, 'type': 2.0}
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm import tqdm

from dataset.core.errors import StoreError, UserError
from dataset.core.store import Store
from dataset.shards.tfrecord import tensorflow_available
from training.model import RETRIEVAL

if TYPE_CHECKING:
    from training.retrieval.encoder_loading import Encoder

logger = logging.getLogger(__name__)

READ_THREADS = 8  # store reads overlap with decoding; S3 latency dominates otherwise
NO_BOX = (0, 0, 0, 0)


@dataclass(frozen=True)
class Combination:
    """How task encodings become one vector: weighted blocks, concatenated, L2-normalised.

    ``block_norm`` L2-normalises each task block before weighting, so a weight means the
    task's share of the cosine similarity rather than a scale on raw activations.
    """

    tasks: tuple[str, ...]
    weights: dict[str, float]
    block_norm: bool = False

    @classmethod
    def parse(cls, tasks: Sequence[str], spec: str | None, block_norm: bool = False) -> Combination:
        weights = {task: 1.0 for task in tasks}
        for part in (spec or "").split(","):
            if not part.strip():
                continue
            name, sep, value = part.partition("=")
            name = name.strip()
            if not sep or name not in weights:
                raise UserError(
                    f"--weights: expected TASK=WEIGHT with TASK in {sorted(weights)}. "
                    f"Received: {part.strip()!r}"
                )
            try:
                weights[name] = float(value)
            except ValueError:
                raise UserError(f"--weights: {name}={value!r} is not a number") from None
        kept = tuple(task for task in tasks if weights[task] > 0)
        if not kept:
            raise UserError(f"--weights: every task has weight 0. Received: {spec!r}")
        return cls(kept, {task: weights[task] for task in kept}, block_norm)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["tasks"] = list(self.tasks)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Combination:
        return cls(tuple(data["tasks"]), dict(data["weights"]), bool(data.get("block_norm")))


EMBEDDINGS = ("auto", "retrieval", "attributes")  # --embedding: auto = the head when present


def choose_combination(
    encoder: Encoder, embedding: str, weights: str | None, block_norm: bool
) -> Combination:
    """The pair-trained embedding (``retrieval``; ``auto`` when the encoder has it) or the
    concatenation of the task encodings (``attributes``, weighted by ``weights``)."""
    if embedding not in EMBEDDINGS:
        raise UserError(f"--embedding: use one of {list(EMBEDDINGS)}. Received: {embedding!r}")
    has_head = RETRIEVAL in encoder.meta
    if embedding == "retrieval" and not has_head:
        raise UserError(
            f"{encoder.uri}: the encoder has no retrieval head (trained without "
            "--retrieval); use --embedding attributes"
        )
    if embedding == "attributes" or not has_head:
        return Combination.parse(list(encoder.tasks), weights, block_norm)
    if weights or block_norm:
        raise UserError(
            "--weights and --block-norm combine task encodings: add --embedding attributes "
            f"to use them with {encoder.uri}, which has a retrieval head"
        )
    return Combination((RETRIEVAL,), {RETRIEVAL: 1.0})


def _l2(x: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norm, 1e-12)


def combine(encodings: dict[str, np.ndarray], combination: Combination) -> np.ndarray:
    """One float16 row per image from per-task encodings ``{task: (n, d_task)}``."""
    missing = [task for task in combination.tasks if task not in encodings]
    if missing:
        raise UserError(f"the encoder has no encodings for tasks {missing}")
    blocks = []
    for task in combination.tasks:
        block = np.asarray(encodings[task], dtype=np.float32)
        if combination.block_norm:
            block = _l2(block)
        blocks.append(block * combination.weights[task])
    return _l2(np.concatenate(blocks, axis=1)).astype(np.float16)


def prepare_image(image: Any, box: Any, size: int) -> Any:
    """Crop a decoded HxWx3 tensor to ``box`` (x1, y1, x2, y2; all zero: whole image), resize."""
    import tensorflow as tf

    shape = tf.shape(image)
    height, width = shape[0], shape[1]

    def crop() -> Any:
        x1 = tf.clip_by_value(box[0], 0, width - 1)
        y1 = tf.clip_by_value(box[1], 0, height - 1)
        x2 = tf.clip_by_value(box[2], x1 + 1, width)
        y2 = tf.clip_by_value(box[3], y1 + 1, height)
        return image[y1:y2, x1:x2, :]

    cropped = tf.cond(box[2] > box[0], crop, lambda: image)
    return tf.image.resize(tf.cast(cropped, tf.float32), (size, size))


def encoding_names(encoder: Encoder) -> list[str]:
    """The encodings an encoder gives: one per task, and ``retrieval`` with the head."""
    return [*encoder.tasks, *([RETRIEVAL] if RETRIEVAL in encoder.meta else [])]


def _encodings(encoder: Encoder, outputs: Any) -> dict[str, np.ndarray]:
    return {
        name: np.asarray(outputs[f"{name}_embedding"], dtype=np.float32)
        for name in encoding_names(encoder)
    }


def prepare_array(image: np.ndarray, box: Sequence[int], size: int) -> np.ndarray:
    """:func:`prepare_image` on a NumPy ``uint8`` RGB array (no TensorFlow): same clipping
    of the box, bilinear resize (OpenCV), float32."""
    import cv2

    height, width = image.shape[:2]
    if box[2] > box[0]:
        x1 = min(max(int(box[0]), 0), width - 1)
        y1 = min(max(int(box[1]), 0), height - 1)
        x2 = min(max(int(box[2]), x1 + 1), width)
        y2 = min(max(int(box[3]), y1 + 1), height)
        image = image[y1:y2, x1:x2]
    resized = cv2.resize(np.ascontiguousarray(image), (size, size), interpolation=cv2.INTER_LINEAR)
    return resized.astype(np.float32)


def _tf_batches(
    records: Iterator[tuple[bytes, tuple[int, ...], int]], size: int, batch_size: int
) -> Iterator[tuple[Any, np.ndarray]]:
    import tensorflow as tf

    def decode(data: Any, box: Any, i: Any) -> tuple[Any, Any]:
        image = tf.io.decode_image(data, channels=3, expand_animations=False)
        return prepare_image(image, box, size), i

    dataset = (
        tf.data.Dataset.from_generator(
            lambda: records,
            output_signature=(
                tf.TensorSpec((), tf.string),
                tf.TensorSpec((4,), tf.int32),
                tf.TensorSpec((), tf.int64),
            ),
        )
        .map(decode, num_parallel_calls=tf.data.AUTOTUNE)
        .ignore_errors()  # undecodable bytes: dropped here, counted by the caller
        .batch(batch_size)
        .prefetch(2)
    )
    for images, idx in dataset:
        yield images, idx.numpy()


def _python_batches(
    records: Iterator[tuple[bytes, tuple[int, ...], int]], size: int, batch_size: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    from training.pydata import decode_bgr

    def decode(record: tuple[bytes, tuple[int, ...], int]) -> tuple[np.ndarray | None, int]:
        data, box, i = record
        image = decode_bgr(data) if data else None
        return (None if image is None else prepare_array(image[:, :, ::-1], box, size)), i

    with ThreadPoolExecutor(READ_THREADS) as pool:
        while chunk := [record for _, record in zip(range(batch_size), records, strict=False)]:
            decoded = [(image, i) for image, i in pool.map(decode, chunk) if image is not None]
            if decoded:  # undecodable bytes: dropped here, counted by the caller
                yield (np.stack([image for image, _ in decoded]),
                       np.asarray([i for _, i in decoded], np.int64))  # fmt: skip


def encode_images(
    encoder: Encoder,
    store: Store,
    keys: Sequence[str],
    boxes: Sequence[Sequence[int]] | None = None,
    batch_size: int = 32,
    desc: str = "encoding",
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Task encodings of the images at ``keys`` and the positions that could be decoded.

    Decoding runs in ``tf.data`` where TensorFlow is importable, else in threads (OpenCV).
    """
    size = encoder.image_size
    box_list = [tuple(int(v) for v in b) for b in boxes] if boxes is not None else None

    def read(key: str) -> bytes:
        try:
            return store.read_bytes(key)
        except StoreError as exc:
            logger.warning("skipping unreadable image: %s", exc)
            return b""

    def generate() -> Iterator[tuple[bytes, tuple[int, ...], int]]:
        chunk = READ_THREADS * 8
        with ThreadPoolExecutor(READ_THREADS) as pool:
            for start in range(0, len(keys), chunk):
                datas = pool.map(read, keys[start : start + chunk])
                for offset, data in enumerate(datas):
                    i = start + offset
                    yield data, (box_list[i] if box_list else NO_BOX), i

    decoded = _tf_batches if tensorflow_available() else _python_batches
    parts: dict[str, list[np.ndarray]] = {name: [] for name in encoding_names(encoder)}
    kept: list[np.ndarray] = []
    with tqdm(total=len(keys), desc=desc, unit="img", leave=False) as bar:
        for images, idx in decoded(generate(), size, batch_size):
            for task, values in _encodings(encoder, encoder.model(images, training=False)).items():
                parts[task].append(values)
            kept.append(idx)
            bar.update(int(idx.shape[0]))
    positions = np.concatenate(kept) if kept else np.zeros(0, dtype=np.int64)
    encodings = {
        task: (np.concatenate(v) if v else np.zeros((0, 0), np.float32))
        for task, v in parts.items()
    }
    if len(positions) < len(keys):
        logger.warning(
            "%d of %d images could not be decoded", len(keys) - len(positions), len(keys)
        )
    return encodings, positions


def load_image(data: bytes, name: str) -> np.ndarray:
    """An RGB uint8 array from image bytes; one-line :class:`UserError` when it is not one."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            return np.asarray(image.convert("RGB"))
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise UserError(f"{name}: not a readable image ({exc})") from None


def encode_array(
    encoder: Encoder, image: np.ndarray
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Task encodings and class probabilities of one decoded RGB image (same resize as
    the gallery pipeline)."""
    if tensorflow_available():
        import tensorflow as tf

        box = tf.constant(NO_BOX, tf.int32)
        batch = prepare_image(tf.constant(image), box, encoder.image_size)[tf.newaxis]
    else:
        batch = prepare_array(image, NO_BOX, encoder.image_size)[None]
    outputs = encoder.model(batch, training=False)
    encodings = _encodings(encoder, outputs)
    probs = {
        task: np.asarray(outputs[f"{task}_probs"], dtype=np.float32)[0]
        for task in encoder.tasks
        if f"{task}_probs" in outputs
    }
    return encodings, probs

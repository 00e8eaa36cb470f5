"""The input pipeline without TensorFlow: the shards read in pure Python, images decoded
and augmented with OpenCV by threads, batches served by a ``keras.utils.PyDataset``.

Used where TensorFlow is not importable (a JAX node) or when asked for
(``input_pipeline: python``). :func:`scan_split_python` reads every record once, like
:func:`training.data.scan_split`, with the same counts of corrupt records and
undecodable images, and keeps where each good record sits (file, byte offset, repeat
count); :class:`ShardBatches` then reads records by offset. Only good records are
drawn, so a batch never holds a bad one.

Order: training batches draw each record ``repeat`` times per pass, in an order
shuffled by ``seed`` and the pass number, endlessly (``steps_per_epoch`` batches per
epoch); evaluation batches hold every record once, in file order, the last one partial.
With the retrieval head (``group_views`` K), a training pass is runs of K records of one
group: each of the first 1/K of the shuffled draws followed by K - 1 others of its group;
with ``similar_tasks``, runs of products of one kind (same type and colour) come in pairs.
Threads suffice: checksums (google-crc32c), JPEG decoding and OpenCV release the GIL,
leaving only the small protobuf parse in Python.
"""

from __future__ import annotations

import logging
import os
import threading
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dataset.shards.reader import CorruptFrame, decode_example, read_frame, read_frames
from dataset.taxonomy.tasks import TaskSpec
from training.augment_numpy import NumpyAugmenter
from training.data import DatasetInfo, SplitScan
from training.model import RETRIEVAL_OUTPUT
from training.pair_loss import GROUP_BUCKETS, group_text, kind_number

logger = logging.getLogger(__name__)


@dataclass
class PythonSplitScan(SplitScan):
    """A scan that also knows where each good record is, for :class:`ShardBatches`."""

    files: list[str] = field(default_factory=list)
    file_index: list[int] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)
    repeats: list[int] = field(default_factory=list)
    groups: list[int] = field(default_factory=list)  # training/pair_loss.group_text, hashed
    first_labels: dict[str, list[int]] = field(default_factory=dict)  # class index per task


def parse_record(
    data: bytes, tasks: dict[str, TaskSpec]
) -> tuple[bytes, dict[str, np.ndarray], int, int]:
    """(image bytes, labels per task, repeat, group number) of one record; ``ValueError``
    when the record lacks a feature or a label has the wrong length (what
    ``tf.io.parse_single_example`` refuses)."""
    example = decode_example(data)
    images = example.get("image") or []
    if len(images) != 1 or not isinstance(images[0], bytes):
        raise ValueError("no image")
    labels = {}
    for name, task in tasks.items():
        values = example.get(f"label/{name}")
        if values is None or len(values) != len(task.classes):
            raise ValueError(f"label/{name} missing or of the wrong length")
        labels[name] = np.asarray(values, dtype=np.float32)
    repeat = example.get("repeat") or [1]
    return images[0], labels, max(1, int(repeat[0])), group_number(example)


def _text_feature(example: dict[str, Any], key: str) -> str:
    values = example.get(key) or [b""]
    value = values[0]
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def group_number(example: dict[str, Any]) -> int:
    """The record's group (who its positives are) as a number below ``GROUP_BUCKETS``."""
    text = group_text(*(_text_feature(example, key)
                        for key in ("pair_id", "product_id", "image_path")))  # fmt: skip
    return zlib.crc32(text.encode("utf-8")) % GROUP_BUCKETS


def grouped_pass(
    order: np.ndarray,
    groups: np.ndarray,
    views: int,
    rng: np.random.Generator,
    kinds: np.ndarray | None = None,
) -> np.ndarray:
    """Runs of ``views`` records of one group: each of the first ``len(order) // views``
    records of ``order`` followed by ``views - 1`` others of its group (drawn again when
    the group is smaller; the record itself when it is alone). With ``kinds`` (one per
    record), the runs are reordered by :func:`similar_runs_together`.

    >>> grouped_pass(np.array([0, 2, 1, 3]), np.array([7, 7, 8, 9]), 2,
    ...              np.random.default_rng(0)).tolist()
    [0, 1, 2, 2]
    """
    members: dict[int, np.ndarray] = {}
    for group in np.unique(groups):
        members[int(group)] = np.flatnonzero(groups == group)
    out = np.empty(len(order) // views * views, np.int64)
    for run, record in enumerate(order[: len(order) // views]):
        pool = members[int(groups[record])]
        others = pool[pool != record] if len(pool) > 1 else pool
        out[run * views] = record
        out[run * views + 1 : (run + 1) * views] = rng.choice(
            others, views - 1, replace=len(others) < views - 1
        )
    if kinds is None:
        return out
    runs = out.reshape(-1, views)
    return similar_runs_together(runs, kinds[runs[:, 0]], rng).reshape(-1)


def similar_runs_together(
    runs: np.ndarray, kinds: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """``runs`` (one row each) reordered in pairs of one kind, the pairs shuffled, so a
    group's images meet a look-alike group in their batch (a batch of an even number of
    runs holds whole pairs); the runs left alone by their kind pair up with each other,
    the last odd one at the end.

    >>> similar_runs_together(np.array([[0], [1], [2], [3]]), np.array([5, 6, 5, 6]),
    ...                       np.random.default_rng(0)).reshape(-1).tolist()
    [0, 2, 1, 3]
    """
    members: dict[int, list[int]] = {}
    for run, kind in enumerate(kinds):
        members.setdefault(int(kind), []).append(run)
    pairs: list[list[int]] = []
    alone: list[int] = []
    for runs_of_kind in members.values():
        pairs += [runs_of_kind[i : i + 2] for i in range(0, len(runs_of_kind) - 1, 2)]
        alone += runs_of_kind[len(runs_of_kind) // 2 * 2 :]
    pairs += [alone[i : i + 2] for i in range(0, len(alone) - len(alone) % 2, 2)]
    order = [run for i in rng.permutation(len(pairs)) for run in pairs[i]]
    order += alone[len(alone) - len(alone) % 2 :]
    return runs[order]


def decode_bgr(data: bytes) -> np.ndarray | None:
    """An ``(H, W, 3)`` uint8 array in OpenCV's BGR order, or ``None`` when the bytes are
    not an image. Kept BGR through augmentation (JPEG re-encoding takes BGR)."""
    import cv2

    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def scan_split_python(info: DatasetInfo, split: str, tasks: dict[str, TaskSpec]) -> PythonSplitScan:
    """Read every record of ``split`` once: counts, repeats, bad records, where each is."""
    scan = PythonSplitScan(counts={name: [0] * len(t.classes) for name, t in tasks.items()})
    scan.files = info.files(split)
    expected = int(info.splits.get(split, {}).get("records", 0))
    seen = 0
    for index, path in enumerate(scan.files):
        try:
            for offset, data in read_frames(path):
                seen += 1
                try:
                    image, labels, repeat, group = parse_record(data, tasks)
                except ValueError:
                    scan.corrupt += 1
                    continue
                if decode_bgr(image) is None:
                    scan.undecodable += 1
                    continue
                scan.records += 1
                scan.drawn += repeat
                scan.file_index.append(index)
                scan.offsets.append(offset)
                scan.repeats.append(repeat)
                scan.groups.append(group)
                for name in tasks:
                    scan.first_labels.setdefault(name, []).append(int(np.argmax(labels[name])))
                    counts = scan.counts[name]
                    for i in np.flatnonzero(labels[name] > 0.5):
                        counts[i] += repeat
        except CorruptFrame as exc:
            # A damaged frame ends the file: what follows cannot be framed again.
            logger.warning("%s (after %d good records)", exc, seen)
    scan.corrupt += max(0, expected - seen)  # records index.json promised but unreadable
    return scan


class ShardBatches:
    """Batches ``(images float32 0..255, {"<task>_probs": labels})`` of a scanned split.

    Built by :func:`shard_batches` as a ``keras.utils.PyDataset`` (Keras imported late).
    """

    def __init__(
        self,
        scan: PythonSplitScan,
        tasks: dict[str, TaskSpec],
        batch_size: int,
        image_size: int,
        training: bool,
        augment: NumpyAugmenter | None,
        seed: int,
        steps: int | None,
        multiple_of: int = 1,
        group_views: int | None = None,
        similar_tasks: tuple[str, ...] = (),
    ) -> None:
        self.scan = scan
        self.tasks = tasks
        self.batch_size = batch_size
        self.image_size = image_size
        self.training = training
        self.augment = augment
        self.seed = seed
        self.group_views = group_views
        self.kinds = None
        if group_views and similar_tasks:
            sizes = [len(tasks[name].classes) for name in similar_tasks]
            labels = [scan.first_labels[name] for name in similar_tasks]
            self.kinds = np.array(
                [kind_number(list(first), sizes) for first in zip(*labels, strict=True)]
            )
        self.epoch = 0
        count = len(scan.offsets)
        if training:
            self.draws = np.repeat(np.arange(count), scan.repeats)
        else:  # JAX's DataParallel splits a batch evenly: the last one too
            self.draws = np.arange(count - count % batch_size % multiple_of)
        # records per training pass: whole runs of one group when grouped
        self.pass_length = len(self.draws) - len(self.draws) % (group_views or 1)
        self.steps = steps if training and steps else -(-len(self.draws) // batch_size)
        self._fds: dict[int, int] = {}
        self._passes: dict[int, np.ndarray] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self.steps

    def on_epoch_end(self) -> None:
        self.epoch += 1

    def _fd(self, index: int) -> int:
        with self._lock:
            if index not in self._fds:
                self._fds[index] = os.open(self.scan.files[index], os.O_RDONLY)
            return self._fds[index]

    def _order(self, start: int, stop: int) -> np.ndarray:
        """Draws ``start..stop`` of the endless sequence of shuffled passes."""
        n = self.pass_length
        out = []
        for position in range(start, stop):
            number, within = divmod(position, n)
            with self._lock:
                if number not in self._passes:
                    rng = np.random.default_rng((self.seed, number))
                    order = self.draws[rng.permutation(len(self.draws))]
                    if self.group_views:
                        groups = np.asarray(self.scan.groups)
                        order = grouped_pass(order, groups, self.group_views, rng, self.kinds)
                    self._passes[number] = order
                    for old in [k for k in self._passes if k < number - 1]:
                        del self._passes[old]  # threads work at most two passes apart
                out.append(self._passes[number][within])
        return np.asarray(out, dtype=np.int64)

    def _image(
        self, record: int, rng: np.random.Generator | None
    ) -> tuple[np.ndarray, dict[str, np.ndarray], int]:
        import cv2

        index = self.scan.file_index[record]
        source = self.scan.files[index]
        data = read_frame(self._fd(index), source, self.scan.offsets[record])
        if data is None:
            raise CorruptFrame(source, self.scan.offsets[record], "record gone since the scan")
        encoded, labels, _, group = parse_record(data, self.tasks)
        image = decode_bgr(encoded)
        if image is None:
            raise ValueError(f"{source}: image at byte {self.scan.offsets[record]} undecodable")
        if image.shape[:2] != (self.image_size, self.image_size):
            image = cv2.resize(image, (self.image_size, self.image_size),
                               interpolation=cv2.INTER_LINEAR)  # fmt: skip
        if self.augment is not None and rng is not None:
            image = self.augment(image, rng)
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB), labels, group

    def batch(self, index: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        if not 0 <= index < self.steps:
            raise IndexError(f"batch {index} of {self.steps}")  # ends a plain for loop
        if self.training:
            step = self.epoch * self.steps + index
            records = self._order(step * self.batch_size, (step + 1) * self.batch_size)
            rng = np.random.default_rng((self.seed, step, 1))
        else:
            records = self.draws[index * self.batch_size : (index + 1) * self.batch_size]
            rng = None
        images = np.empty((len(records), self.image_size, self.image_size, 3), np.float32)
        labels: dict[str, list[np.ndarray]] = {name: [] for name in self.tasks}
        groups = np.empty(len(records), np.float32)
        for row, record in enumerate(records):
            image, record_labels, groups[row] = self._image(int(record), rng)
            images[row] = image
            for name in self.tasks:
                labels[name].append(record_labels[name])
        targets = {f"{name}_probs": np.stack(v) for name, v in labels.items()}
        if self.group_views is not None:
            targets[RETRIEVAL_OUTPUT] = groups
        return images, targets

    def close(self) -> None:
        with self._lock:
            for fd in self._fds.values():
                os.close(fd)
            self._fds.clear()


def shard_batches(
    scan: PythonSplitScan,
    tasks: dict[str, TaskSpec],
    batch_size: int,
    image_size: int,
    training: bool = False,
    augment: NumpyAugmenter | None = None,
    seed: int = 0,
    steps: int | None = None,
    multiple_of: int = 1,
    group_views: int | None = None,
    similar_tasks: tuple[str, ...] = (),
) -> Any:
    """A ``keras.utils.PyDataset`` over :class:`ShardBatches`: one thread per core this
    process may use decodes batches ahead of training. ``multiple_of`` (evaluation): the
    last partial batch is cut to a multiple of it (the device count of a data-parallel
    run; at most ``multiple_of - 1`` records left out). ``group_views`` and
    ``similar_tasks``: as :func:`training.data.make_dataset`."""
    import cv2
    import keras

    cv2.setNumThreads(1)  # the decoding threads are the parallelism: no threads inside them
    batches = ShardBatches(scan, tasks, batch_size, image_size, training, augment, seed, steps,
                           multiple_of, group_views, similar_tasks)  # fmt: skip
    threads = len(os.sched_getaffinity(0))

    class Batches(keras.utils.PyDataset):
        def __init__(self) -> None:
            super().__init__(workers=threads, use_multiprocessing=False,
                             max_queue_size=threads)  # fmt: skip
            self.source = batches

        def __len__(self) -> int:
            return len(batches)

        def __getitem__(self, index: int) -> Any:
            return batches.batch(index)

        def on_epoch_end(self) -> None:
            batches.on_epoch_end()

    return Batches()

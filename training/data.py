"""``tf.data`` input pipelines from a dataset's TFRecord shards (docs/architecture.md).

A dataset URI (local folder or ``s3://``) is first *staged*: local shards are read in
place; remote ones are downloaded to a local cache in parallel threads (TensorFlow core
has no S3 filesystem any more), skipping files already there with the right size. Each
split is then *scanned* once (records, repeats, label counts, corrupt records and
undecodable images), so bad data is counted and reported instead of silently dropped,
and a split that is empty or a class that never occurs in training is a clear error.

Training pipeline: shard files shuffled -> parallel interleave of readers -> parse ->
each record repeated ``repeat`` times (the rebalancing of the dataset build) -> shuffle
-> repeat forever -> (with the retrieval head: windows of K records of one group, so a
batch is P groups x K images) -> parallel decode (+ augmentation) -> batch -> prefetch.
Evaluation pipelines read each record once, in order, without augmentation.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from dataset.core.errors import StoreError, UserError
from dataset.core.store import Store, open_store
from dataset.taxonomy.tasks import TaskSpec, task_specs

logger = logging.getLogger(__name__)

INDEX_KEY = "shards/index.json"
WEIGHTS_KEY = "label_weights.json"
READ_BUFFER = 8 << 20  # bytes per TFRecord reader: large sequential reads
CYCLE_LENGTH = 8  # shard files read at once by the interleave


@dataclass
class SplitScan:
    """What one pass over a split's records found."""

    records: int = 0  # readable records with a decodable image
    drawn: int = 0  # records drawn per epoch: the sum of their repeat counts
    counts: dict[str, list[int]] = field(default_factory=dict)  # per task, with repeats
    corrupt: int = 0  # records lost to a damaged frame or protobuf
    undecodable: int = 0  # records whose image does not decode

    @property
    def skipped(self) -> int:
        return self.corrupt + self.undecodable

    def to_json(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "drawn": self.drawn,
            "skipped_corrupt": self.corrupt,
            "skipped_undecodable": self.undecodable,
        }


@dataclass
class DatasetInfo:
    """A staged dataset: local shard files and what ``index.json`` says about them."""

    uri: str
    root: Path  # local folder holding shards/ (the dataset itself when local)
    image_size: int
    tasks: dict[str, TaskSpec]
    splits: dict[str, dict[str, Any]]
    label_weights: dict[str, Any] | None
    version: str

    def files(self, split: str) -> list[str]:
        if split not in self.splits:
            raise UserError(
                f"{self.uri}: the dataset has no {split!r} split. "
                f"Received splits: {sorted(self.splits)}"
            )
        return [str(self.root / "shards" / name) for name in self.splits[split]["files"]]

    def select(self, names: list[str] | None) -> dict[str, TaskSpec]:
        """The tasks to train: ``names`` in that order, default all; unknown ones refused."""
        if not names:
            return dict(self.tasks)
        unknown = [name for name in names if name not in self.tasks]
        if unknown:
            raise UserError(
                f"unknown task(s) {unknown}: the dataset has {list(self.tasks)}. "
                f"Received: tasks={names}"
            )
        return {name: self.tasks[name] for name in names}


def _cache_folder(uri: str, cache_dir: str | None) -> Path:
    base = Path(cache_dir) if cache_dir else Path(tempfile.gettempdir()) / "s2s-shards"
    digest = hashlib.sha1(uri.rstrip("/").encode()).hexdigest()[:12]
    return base / digest


def _download_all(store: Store, keys: list[str], folder: Path, workers: int) -> None:
    def fetch(key: str) -> None:
        dest = folder / key
        size = store.size(key)
        if dest.is_file() and dest.stat().st_size == size:
            return  # staged by an earlier attempt of this run (a resumed pod)
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(dest.name + ".part")
        store.download(key, partial)
        if partial.stat().st_size != size:
            raise StoreError(
                f"{store.uri_for(key)}: staged {partial.stat().st_size} bytes of {size}"
            )
        os.replace(partial, dest)

    with (
        ThreadPoolExecutor(max_workers=workers) as pool,
        tqdm(total=len(keys), desc="staging shards", unit="file", leave=False) as bar,
    ):
        for _ in pool.map(fetch, keys):
            bar.update(1)


def _write_staged(folder: Path, key: str, data: bytes) -> None:
    """Write a small file the run reads from the cache, atomically (always fresh)."""
    dest = folder / key
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".part")
    partial.write_bytes(data)
    os.replace(partial, dest)


def _check_staged(uri: str, root: Path, keys: list[str]) -> None:
    """Every file the run reads must be on local disk: name the first missing ones."""
    missing = [key for key in keys if not (root / key).is_file()]
    if missing:
        raise UserError(
            f"{uri}: {len(missing)} file(s) named by {INDEX_KEY} are missing, e.g. {missing[:3]}"
        )


def stage_dataset(uri: str, cache_dir: str | None = None, workers: int = 8) -> DatasetInfo:
    """Make everything a run reads of the dataset at ``uri`` readable from local disk.

    That is ``shards/index.json``, ``label_weights.json`` (when the dataset has one) and
    every shard file the index names; each staged file is checked against the store.
    """
    store = open_store(uri)
    try:
        index_bytes = store.read_bytes(INDEX_KEY)
        index = json.loads(index_bytes)
    except StoreError as exc:
        raise UserError(f"{uri}: no training shards ({INDEX_KEY}): {exc}") from None
    except ValueError as exc:
        raise UserError(f"{store.uri_for(INDEX_KEY)}: not JSON ({exc})") from None
    if not isinstance(index, dict) or "splits" not in index or "tasks" not in index:
        raise UserError(f"{store.uri_for(INDEX_KEY)}: expected image_size, tasks and splits")
    weights = store.read_json(WEIGHTS_KEY) if store.exists(WEIGHTS_KEY) else None
    keys = [f"shards/{name}" for split in index["splits"].values() for name in split["files"]]
    local = store.local_path(INDEX_KEY)
    if local is not None:
        root = local.parent.parent
    else:
        root = _cache_folder(uri, cache_dir)
        _write_staged(root, INDEX_KEY, index_bytes)
        if weights is not None:
            _write_staged(root, WEIGHTS_KEY, json.dumps(weights).encode())
        _download_all(store, keys, root, workers)
        logger.info("staged %d shard files of %s in %s", len(keys), uri, root)
    _check_staged(uri, root, [INDEX_KEY, *keys])
    return DatasetInfo(
        uri=uri,
        root=root,
        image_size=int(index.get("image_size", 224)),
        tasks=task_specs({"tasks": index["tasks"]}),
        splits=dict(index["splits"]),
        label_weights=weights,
        version=uri.rstrip("/").rsplit("/", 1)[-1],
    )


def feature_spec(tasks: dict[str, TaskSpec]) -> dict[str, Any]:
    import tensorflow as tf

    spec: dict[str, Any] = {
        "image": tf.io.FixedLenFeature([], tf.string),
        "repeat": tf.io.FixedLenFeature([], tf.int64, default_value=1),
    }
    for name, task in tasks.items():
        spec[f"label/{name}"] = tf.io.FixedLenFeature([len(task.classes)], tf.float32)
    return spec


def scan_split(info: DatasetInfo, split: str, tasks: dict[str, TaskSpec]) -> SplitScan:
    """Read every record of ``split`` once: counts, repeats, and what is unreadable."""
    import tensorflow as tf

    spec = feature_spec(tasks)
    scan = SplitScan(counts={name: [0] * len(t.classes) for name, t in tasks.items()})
    expected = int(info.splits.get(split, {}).get("records", 0))
    seen = 0
    for path in info.files(split):
        iterator = iter(tf.data.TFRecordDataset(path, buffer_size=READ_BUFFER))
        while True:
            try:
                raw = next(iterator)
            except StopIteration:
                break
            except tf.errors.DataLossError as exc:
                # A damaged frame ends the file: what follows cannot be framed again.
                logger.warning("%s: corrupt record after %d good ones: %s", path, seen, exc)
                break
            seen += 1
            try:
                example = tf.io.parse_single_example(raw, spec)
            except tf.errors.InvalidArgumentError:
                scan.corrupt += 1
                continue
            try:
                tf.io.decode_image(example["image"], channels=3, expand_animations=False)
            except tf.errors.InvalidArgumentError:
                scan.undecodable += 1
                continue
            repeat = max(1, int(example["repeat"]))
            scan.records += 1
            scan.drawn += repeat
            for name in tasks:
                hot = example[f"label/{name}"].numpy() > 0.5
                counts = scan.counts[name]
                for i in np.flatnonzero(hot):
                    counts[i] += repeat
    scan.corrupt += max(0, expected - seen)  # records index.json promised but unreadable
    return scan


def check_split(info: DatasetInfo, split: str, scan: SplitScan, max_bad_fraction: float) -> None:
    """Refuse an empty split or one with more bad records than tolerated; log the skips."""
    if scan.records == 0:
        raise UserError(
            f"{info.uri}: split {split!r} has no usable records "
            f"(corrupt: {scan.corrupt}, undecodable: {scan.undecodable})"
        )
    if scan.skipped:
        total = scan.records + scan.skipped
        logger.warning(
            "split %s: skipping %d corrupt record(s) and %d undecodable image(s) of %d",
            split,
            scan.corrupt,
            scan.undecodable,
            total,
        )
        if scan.skipped / total > max_bad_fraction:
            raise UserError(
                f"{info.uri}: split {split!r} has {scan.skipped} bad record(s) of {total}, "
                f"more than max_bad_fraction={max_bad_fraction}; rebuild the shards"
            )


def check_classes(tasks: dict[str, TaskSpec], scan: SplitScan, allow_missing: bool) -> None:
    """A class no training image has would get a head output that never learns: refuse it."""
    missing = [
        f"{name}/{cls}"
        for name, task in tasks.items()
        for cls, n in zip(task.classes, scan.counts[name], strict=True)
        if n == 0
    ]
    if missing and not allow_missing:
        raise UserError(
            f"class(es) with no training image: {missing}; add images, remove them from the "
            "taxonomy, or set allow_missing_classes: true"
        )
    for label in missing:
        logger.warning("class %s has no training image: its output will not learn", label)


def loss_weights_for(
    info: DatasetInfo, tasks: dict[str, TaskSpec], scan: SplitScan
) -> dict[str, tuple[list[float], list[float]]]:
    """Per multi-label task, the (present, absent) weights of ``label_weights.json``.

    Without the file the same formula is applied to the scanned training counts.
    """
    out: dict[str, tuple[list[float], list[float]]] = {}
    document = info.label_weights
    if document is None:
        logger.warning(
            "%s: no %s; weights computed from the training shards", info.uri, WEIGHTS_KEY
        )
    for name, task in tasks.items():
        if task.single:
            continue
        entry = (document or {}).get("tasks", {}).get(name)
        if entry is not None:
            if list(entry.get("classes", [])) != list(task.classes):
                raise UserError(
                    f"{info.uri}/{WEIGHTS_KEY}: task {name!r} classes differ from "
                    f"shards/index.json. Received: {entry.get('classes')}"
                )
            out[name] = ([float(v) for v in entry["present"]], [float(v) for v in entry["absent"]])
            continue
        n = scan.drawn
        counts = scan.counts[name]
        present = [n / (2 * c) if c else 1.0 for c in counts]
        absent = [n / (2 * (n - c)) if n - c else 1.0 for c in counts]
        out[name] = (present, absent)
    return out


def make_dataset(
    info: DatasetInfo,
    split: str,
    tasks: dict[str, TaskSpec],
    batch_size: int,
    image_size: int,
    training: bool = False,
    augment: Callable[[Any], Any] | None = None,
    seed: int = 0,
    shuffle_buffer: int = 2048,
    with_paths: bool = False,
    group_views: int | None = None,
    similar_tasks: tuple[str, ...] = (),
) -> Any:
    """Batches of ``(images float32 0..255, {"<task>_probs": labels})``.

    ``training``: shuffled, records repeated by their ``repeat`` count, infinite (pass
    ``steps_per_epoch``), last partial batch dropped. Otherwise every record once, in
    order; ``with_paths`` adds the image paths as a third element (evaluation).
    ``group_views`` (the retrieval head's K): labels gain ``retrieval_embedding``, each
    image's group number, and training batches are runs of K images of one group;
    ``similar_tasks``: those runs come in pairs of one kind (the same first label of each
    of these tasks), hard negatives for each other.
    """
    import tensorflow as tf

    from training.model import RETRIEVAL_OUTPUT
    from training.pair_loss import GROUP_BUCKETS, kind_number

    spec = feature_spec(tasks)
    for key in ("image_path", "pair_id", "product_id"):
        spec[key] = tf.io.FixedLenFeature([], tf.string, default_value="")
    files = tf.data.Dataset.from_tensor_slices(info.files(split))
    if training:
        files = files.shuffle(len(info.files(split)), seed=seed, reshuffle_each_iteration=True)
    records = files.interleave(
        lambda path: tf.data.TFRecordDataset(path, buffer_size=READ_BUFFER).ignore_errors(),
        cycle_length=CYCLE_LENGTH,
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=not training,
    )
    parsed = records.map(
        lambda raw: tf.io.parse_single_example(raw, spec), num_parallel_calls=tf.data.AUTOTUNE
    ).ignore_errors()  # damaged protobufs: counted by scan_split
    if training:
        parsed = parsed.flat_map(
            lambda ex: tf.data.Dataset.from_tensors(ex).repeat(tf.maximum(ex["repeat"], 1))
        )
        parsed = parsed.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True).repeat()

    def group(example: dict[str, Any]) -> Any:
        # training/pair_loss.group_text: the pair, else the product, else the image alone
        text = tf.where(example["pair_id"] != "", example["pair_id"], example["product_id"])
        text = tf.where(text != "", text, example["image_path"])
        return tf.strings.to_hash_bucket_fast(text, GROUP_BUCKETS)

    grouped = training and group_views is not None
    if grouped:
        # A group seen once waits for its next draw (the pipeline repeats), so a product
        # with a single photo pairs two augmentations of it.
        runs = parsed.group_by_window(
            key_func=group,
            reduce_func=lambda _, window: window.batch(group_views),
            window_size=group_views,
        )
        if similar_tasks:
            sizes = [len(tasks[name].classes) for name in similar_tasks]

            def kind(run: dict[str, Any]) -> Any:
                first = [tf.argmax(run[f"label/{name}"][0]) for name in similar_tasks]
                return kind_number(first, sizes)

            runs = runs.group_by_window(
                key_func=kind, reduce_func=lambda _, pair: pair.batch(2), window_size=2
            ).unbatch()
        parsed = runs.unbatch()

    def decode(example: dict[str, Any]) -> Any:
        image = tf.io.decode_image(example["image"], channels=3, expand_animations=False)
        image = tf.cast(image, tf.float32)
        image.set_shape([None, None, 3])
        image = tf.image.resize(image, (image_size, image_size))
        if augment is not None:
            image = augment(image)
        labels = {f"{name}_probs": example[f"label/{name}"] for name in tasks}
        if group_views is not None:
            labels[RETRIEVAL_OUTPUT] = tf.cast(group(example), tf.float32)
        if with_paths:
            return image, labels, example["image_path"]
        return image, labels

    # Grouped batches need the order kept: a group's K images must stay together.
    images = parsed.map(
        decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=grouped or not training
    )
    images = images.ignore_errors()  # undecodable images: counted by scan_split
    batched = images.batch(batch_size, drop_remainder=training).prefetch(tf.data.AUTOTUNE)
    options = tf.data.Options()
    # Workers of a multi-worker run each read every file and keep their share of the
    # records: the shard count need not be a multiple of the worker count.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return batched.with_options(options)


def with_known_length(dataset: Any, scan: SplitScan, batch_size: int) -> Any:
    """A finite pipeline that declares its batch count, so Keras knows where an epoch of
    validation ends instead of finding out by running out of data (and warning so).

    Only for a split that scanned clean: with damaged records the count read by
    ``ignore_errors`` could differ from the scan's, and a wrong declaration is an error.
    """
    import tensorflow as tf

    if scan.skipped:
        return dataset
    batches = -(-scan.records // batch_size)
    return dataset.apply(tf.data.experimental.assert_cardinality(batches))

"""Which input pipeline feeds training and evaluation: ``tf.data`` or pure Python.

``input_pipeline`` (TrainConfig): ``auto`` takes ``tf.data`` (training/data.py) wherever
TensorFlow is importable, whatever the Keras backend, else the pure-Python reader
(training/pydata.py); ``tf_data`` and ``python`` force one. Both give the same batches
(``(images float32 0..255, {"<task>_probs": labels})``), skip and count the same bad
records, and apply the same augmentation (``tf.image``/Keras layers, or OpenCV).
"""

from __future__ import annotations

from typing import Any

from dataset.core.errors import UserError
from dataset.shards.tfrecord import tensorflow_available
from dataset.taxonomy.tasks import TaskSpec
from training.config import AugmentConfig
from training.data import DatasetInfo, SplitScan

PIPELINES = ("auto", "tf_data", "python")


def choose_pipeline(setting: str = "auto") -> str:
    """``tf_data`` or ``python`` for the ``input_pipeline`` setting."""
    if setting not in PIPELINES:
        raise UserError(f"unknown input pipeline; use one of {list(PIPELINES)}. "
                        f"Received: input_pipeline={setting!r}")  # fmt: skip
    if setting == "auto":
        return "tf_data" if tensorflow_available() else "python"
    if setting == "tf_data" and not tensorflow_available():
        raise UserError("input_pipeline tf_data needs TensorFlow, which is not importable "
                        "here; use auto or python. Received: input_pipeline='tf_data'")  # fmt: skip
    return setting


def scan_records(
    info: DatasetInfo, split: str, tasks: dict[str, TaskSpec], pipeline: str
) -> SplitScan:
    """Every record of ``split`` read once (counts, repeats, bad records)."""
    if pipeline == "python":
        from training.pydata import scan_split_python

        return scan_split_python(info, split, tasks)
    from training.data import scan_split

    return scan_split(info, split, tasks)


def batches(
    info: DatasetInfo,
    split: str,
    tasks: dict[str, TaskSpec],
    scan: SplitScan,
    batch_size: int,
    image_size: int,
    pipeline: str,
    *,
    training: bool = False,
    augment: AugmentConfig | None = None,
    seed: int = 0,
    shuffle_buffer: int = 2048,
    steps: int | None = None,
    multiple_of: int = 1,
    group_views: int | None = None,
    similar_tasks: tuple[str, ...] = (),
) -> Any:
    """Batches of ``split``: training ones shuffled, repeated and augmented, endless
    (``steps`` per epoch); else every record once, in order (the python pipeline cuts
    the last batch to a ``multiple_of`` the device count of a data-parallel run).
    ``group_views`` (the retrieval head's K): labels gain each image's group number and
    training batches are P groups x K images, in pairs of groups of one kind by
    ``similar_tasks`` (hard negatives)."""
    if pipeline == "python":
        from training.augment_numpy import NumpyAugmenter
        from training.pydata import PythonSplitScan, shard_batches

        if not isinstance(scan, PythonSplitScan):
            raise TypeError("the python pipeline reads the records its own scan located")
        augmenter = NumpyAugmenter(augment) if training and augment is not None else None
        return shard_batches(scan, tasks, batch_size, image_size, training=training,
                             augment=augmenter, seed=seed, steps=steps,
                             multiple_of=multiple_of, group_views=group_views,
                             similar_tasks=similar_tasks)  # fmt: skip
    from training.augment import Augmenter
    from training.data import make_dataset

    tf_augmenter = Augmenter(augment, seed=seed) if training and augment is not None else None
    return make_dataset(info, split, tasks, batch_size, image_size, training=training,
                        augment=tf_augmenter, seed=seed, shuffle_buffer=shuffle_buffer,
                        group_views=group_views, similar_tasks=similar_tasks)  # fmt: skip

"""Stop on a non-finite loss, measure images/s, and TensorBoard when it is installed."""

from __future__ import annotations

import importlib.util
import logging
import math
import time
from pathlib import Path
from typing import Any

import keras

from dataset.shards.tfrecord import tensorflow_available

logger = logging.getLogger(__name__)


class NanGuard(keras.callbacks.Callback):
    """Stop training at the first batch whose loss is not finite, and remember where.

    The trainer turns :attr:`diverged` into a one-line error after ``fit`` returns (an
    exception raised inside a callback would skip Keras' own clean-up).
    """

    def __init__(self) -> None:
        super().__init__()
        self.epoch = 0
        self.diverged: str | None = None

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.diverged = (
                f"the loss became {float(loss)} at epoch {self.epoch + 1}, batch {batch + 1}"
            )
            self.model.stop_training = True


class Throughput(keras.callbacks.Callback):
    """Training images per second of each epoch (wall time, validation excluded)."""

    def __init__(self, batch_size: int) -> None:
        super().__init__()
        self.batch_size = batch_size
        self.per_epoch: list[float] = []
        self._start = 0.0
        self._batches = 0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._start, self._batches = time.perf_counter(), 0

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._batches += 1
        self._end = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        elapsed = getattr(self, "_end", time.perf_counter()) - self._start
        if self._batches and elapsed > 0:
            rate = self._batches * self.batch_size / elapsed
            self.per_epoch.append(round(rate, 1))
            if logs is not None:
                logs["images_per_s"] = rate


def tensorboard_callback(log_dir: Path) -> Any | None:
    """A TensorBoard callback, or ``None`` (with a log line) when tensorboard or TensorFlow
    (Keras writes the logs with ``tf.summary``) is missing."""
    if importlib.util.find_spec("tensorboard") is None or not tensorflow_available():
        logger.info("tensorboard or TensorFlow is not installed: no TensorBoard logs (CSV kept)")
        return None
    return keras.callbacks.TensorBoard(log_dir=str(log_dir), update_freq="epoch")

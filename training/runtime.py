"""Devices and distribution: strategy, mixed precision and XLA, decided once per run.

- ``TF_CONFIG`` with several workers (set by ``training.cluster`` in k8s/train-multinode
  or by the Kubeflow TFJob operator), or ``strategy: multi_worker``:
  ``MultiWorkerMirroredStrategy``. It must exist before any other TensorFlow op, so
  :func:`setup_runtime` is the first thing ``fit`` does.
- Several GPUs visible: ``MirroredStrategy``; else the default strategy.
- Mixed precision (``mixed_float16``) when a GPU is visible; the heads' outputs stay
  float32 (training/model.py).
- XLA (``jit_compile``) on GPU for a single worker only: collective ops of a multi-worker
  run are not XLA-compiled by Keras 3, and on CPU XLA is slower to compile than it saves.

Keras 3 and ``MultiWorkerMirroredStrategy``: ``fit`` works (tests/test_training_distributed.py
runs two local CPU workers), but every worker runs the callbacks; Keras 3's
``BackupAndRestore`` and checkpoints do not coordinate workers the way ``tf.keras`` did.
Workaround used here: each worker backs up to its own folder (same weights: training is
synchronous), and only the chief writes checkpoints, logs, the model and the summary.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from typing import Any

from dataset.core.errors import UserError
from training.config import TrainConfig

logger = logging.getLogger(__name__)


@dataclass
class Runtime:
    strategy: Any
    kind: str  # default | mirrored | multi_worker
    workers: int
    worker_index: int
    gpus: int
    mixed_precision: bool
    xla: bool

    @property
    def is_chief(self) -> bool:
        return self.worker_index == 0

    @property
    def replicas(self) -> int:
        return int(self.strategy.num_replicas_in_sync)

    def to_json(self) -> dict[str, Any]:
        return {
            "strategy": self.kind,
            "workers": self.workers,
            "replicas": self.replicas,
            "gpus": self.gpus,
            "mixed_precision": self.mixed_precision,
            "xla": self.xla,
        }


def read_tf_config() -> tuple[int, int]:
    """(number of workers, this worker's index) from ``TF_CONFIG``; (1, 0) without it."""
    raw = os.environ.get("TF_CONFIG", "").strip()
    if not raw:
        return 1, 0
    try:
        config = json.loads(raw)
        cluster = config.get("cluster", {})
        task = config.get("task", {})
        workers = len(cluster.get("chief", [])) + len(cluster.get("worker", []))
        index = int(task.get("index", 0))
        if task.get("type") == "worker" and cluster.get("chief"):
            index += 1  # the chief is worker 0 of the run
    except (ValueError, AttributeError, TypeError) as exc:
        raise UserError(f"TF_CONFIG is not valid JSON with cluster and task ({exc})") from None
    return max(workers, 1), index


def setup_runtime(config: TrainConfig) -> Runtime:
    import keras
    import tensorflow as tf

    workers, index = read_tf_config()
    kind = config.strategy
    if kind == "auto":
        gpus_seen = len(tf.config.list_physical_devices("GPU"))
        kind = "multi_worker" if workers > 1 else "mirrored" if gpus_seen > 1 else "default"
    if kind == "multi_worker":
        if not os.environ.get("TF_CONFIG"):
            raise UserError(
                "strategy multi_worker needs TF_CONFIG (set by `python -m training.cluster` "
                "or the TFJob operator)"
            )
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    elif kind == "mirrored":
        strategy = tf.distribute.MirroredStrategy()
    else:
        strategy = tf.distribute.get_strategy()
    gpus = len(tf.config.list_physical_devices("GPU"))
    mixed = config.mixed_precision == "on" or (config.mixed_precision == "auto" and gpus > 0)
    if mixed:
        keras.mixed_precision.set_global_policy("mixed_float16")
    xla = config.xla == "on" or (config.xla == "auto" and gpus > 0 and kind != "multi_worker")
    runtime = Runtime(strategy, kind, workers, index, gpus, mixed, xla)
    logger.info("runtime: %s", runtime.to_json())
    return runtime

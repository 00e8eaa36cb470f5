"""Devices and distribution: strategy, mixed precision and XLA, decided once per run.

On the TensorFlow backend (training/backend.py):

- ``TF_CONFIG`` with several workers (set by ``training.cluster`` in k8s/train-multinode
  or by the Kubeflow TFJob operator), or ``strategy: multi_worker``:
  ``MultiWorkerMirroredStrategy``. It must exist before any other TensorFlow op, so
  :func:`setup_runtime` is the first thing ``fit`` does.
- Several GPUs visible: ``MirroredStrategy``; else the default strategy.
- XLA (``jit_compile``) on GPU for a single worker only: collective ops of a multi-worker
  run are not XLA-compiled by Keras 3, and on CPU XLA is slower to compile than it saves.

On the JAX backend: ``keras.distribution.DataParallel`` over every device when several
are visible (a batch is split across them), else one device; everything is compiled by
XLA (JAX without ``jit`` runs op by op). Several nodes stay on TensorFlow: a multi-worker
run on JAX is refused.

Both backends: mixed precision when a GPU is visible, ``mixed_bfloat16`` where every GPU
has compute capability >= 8.0 (Ampere, Hopper: bfloat16 runs at float16 speed with no
loss scaling), else ``mixed_float16`` (``compile`` adds loss scaling); the heads' outputs
stay float32 (training/model.py).

Keras 3 and ``MultiWorkerMirroredStrategy``: ``fit`` works (tests/test_training_distributed.py
runs two local CPU workers), but every worker runs the callbacks; Keras 3's
``BackupAndRestore`` and checkpoints do not coordinate workers the way ``tf.keras`` did.
Workaround used here: each worker backs up to its own folder (same weights: training is
synchronous), and only the chief writes checkpoints, logs, the model and the summary.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from dataset.core.errors import UserError
from training.config import TrainConfig

logger = logging.getLogger(__name__)


class OneDevice:
    """The JAX backend's stand-in for a strategy when one device is visible."""

    def scope(self) -> Any:
        return contextlib.nullcontext()


@dataclass
class Runtime:
    strategy: Any  # a tf.distribute strategy, keras.distribution.DataParallel or OneDevice
    kind: str  # default | mirrored | multi_worker | data_parallel
    workers: int
    worker_index: int
    replicas: int
    gpus: int
    precision: str  # float32 | mixed_float16 | mixed_bfloat16
    xla: bool
    backend: str = "tensorflow"

    @property
    def is_chief(self) -> bool:
        return self.worker_index == 0

    @property
    def mixed_precision(self) -> bool:
        return self.precision != "float32"

    def to_json(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "strategy": self.kind,
            "workers": self.workers,
            "replicas": self.replicas,
            "gpus": self.gpus,
            "mixed_precision": self.mixed_precision,
            "precision": self.precision,
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


def precision_policy(setting: str, capabilities: list[float]) -> str:
    """The Keras dtype policy for ``mixed_precision`` and the GPUs' compute capabilities.

    >>> precision_policy("auto", [9.0]), precision_policy("auto", [7.5]), precision_policy("auto", [])
    ('mixed_bfloat16', 'mixed_float16', 'float32')
    >>> precision_policy("on", [])  # forced on a CPU: bfloat16 needs no loss scaling
    'mixed_bfloat16'
    """
    if setting == "off" or (setting == "auto" and not capabilities):
        return "float32"
    if capabilities and min(capabilities) < 8.0:
        return "mixed_float16"
    return "mixed_bfloat16"


@contextlib.contextmanager
def global_dtype_policy(name: str) -> Iterator[None]:
    """Keras' global dtype policy set to ``name`` inside the block, the earlier one after."""
    import keras

    before = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(before)


def _apply_precision(config: TrainConfig, capabilities: list[float]) -> str:
    import keras

    policy = precision_policy(config.mixed_precision, capabilities)
    keras.mixed_precision.set_global_policy(policy)  # also float32: an earlier run may have set one
    return policy


def setup_runtime(config: TrainConfig) -> Runtime:
    from training.backend import current_backend

    if current_backend() == "jax":
        return _setup_jax(config)
    return _setup_tensorflow(config)


def _capability(text: Any) -> float:
    major, _, minor = str(text).partition(".")
    return float(f"{int(major)}.{int(minor or 0)}")


def _setup_jax(config: TrainConfig) -> Runtime:
    import jax
    import keras

    workers, index = read_tf_config()
    if workers > 1 or config.strategy == "multi_worker":
        raise UserError(
            "multi-worker training runs on the TensorFlow backend (MultiWorkerMirroredStrategy); "
            f"run it with --backend tensorflow. Received: backend=jax, workers={workers}, "
            f"strategy={config.strategy}"
        )
    devices = jax.devices()
    gpus = [d for d in devices if d.platform == "gpu"]
    capabilities = [_capability(getattr(d, "compute_capability", "0.0")) for d in gpus]
    strategy: Any = OneDevice()
    kind = "default"
    if len(devices) > 1 and config.strategy in ("auto", "mirrored"):
        strategy = keras.distribution.DataParallel(devices=devices)
        keras.distribution.set_distribution(strategy)  # fit splits each batch by it
        kind = "data_parallel"
    precision = _apply_precision(config, capabilities)
    xla = config.xla != "off"
    replicas = len(devices) if kind == "data_parallel" else 1
    runtime = Runtime(strategy, kind, 1, 0, replicas, len(gpus), precision, xla, "jax")
    logger.info("runtime: %s", runtime.to_json())
    return runtime


def _setup_tensorflow(config: TrainConfig) -> Runtime:
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
    physical = tf.config.list_physical_devices("GPU")
    capabilities = [
        _capability(".".join(map(str, tf.config.experimental.get_device_details(gpu).get(
            "compute_capability", (0, 0)))))
        for gpu in physical
    ]  # fmt: skip
    precision = _apply_precision(config, capabilities)
    gpus = len(physical)
    xla = config.xla == "on" or (config.xla == "auto" and gpus > 0 and kind != "multi_worker")
    replicas = int(strategy.num_replicas_in_sync)
    runtime = Runtime(strategy, kind, workers, index, replicas, gpus, precision, xla)
    logger.info("runtime: %s", runtime.to_json())
    return runtime


def peak_gpu_memory_gib(runtime: Runtime) -> float | None:
    """The most memory any GPU of this process has held so far; ``None`` without a GPU."""
    if not runtime.gpus:
        return None
    if runtime.backend == "jax":
        import jax

        peaks = [
            (device.memory_stats() or {}).get("peak_bytes_in_use", 0)
            for device in jax.local_devices()
            if device.platform == "gpu"
        ]
    else:
        import tensorflow as tf

        peaks = [
            tf.config.experimental.get_memory_info(f"GPU:{i}")["peak"] for i in range(runtime.gpus)
        ]
    return round(max(peaks) / 2**30, 2) if peaks else None

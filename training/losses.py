"""Losses: the weighted binary cross-entropy of SEED-NOTES.md, and CCE for single-label.

Per label ``i`` (weights from ``label_weights.json``: ``present_i = n / (2 n_i)``,
``absent_i = n / (2 (n - n_i))``)::

    loss_i = -present_i * y_i * log(p_i) - absent_i * (1 - y_i) * log(1 - p_i)

averaged over the labels of the task, then over the batch. Keras ``class_weight``
does not apply to multi-output models, hence a loss that carries its weights.

>>> import numpy as np
>>> loss = WeightedBinaryCrossentropy(present=[2.0], absent=[0.5])
>>> round(float(loss(np.array([[1.0]]), np.array([[0.5]]))), 4)  # 2 * ln 2
1.3863
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras

from dataset.taxonomy.tasks import TaskSpec
from training.config import RetrievalConfig
from training.model import RETRIEVAL_OUTPUT
from training.pair_loss import MultiPositiveInfoNCE

EPSILON = 1e-7


@keras.saving.register_keras_serializable(package="street2shop")
class WeightedBinaryCrossentropy(keras.losses.Loss):
    def __init__(
        self,
        present: Sequence[float],
        absent: Sequence[float],
        name: str = "weighted_bce",
        **kwargs: Any,
    ) -> None:
        super().__init__(name=name, **kwargs)
        if len(present) != len(absent):
            raise ValueError(
                f"present and absent weights differ in length. "
                f"Received: {len(present)} and {len(absent)}"
            )
        self.present = [float(v) for v in present]
        self.absent = [float(v) for v in absent]

    def call(self, y_true: Any, y_pred: Any) -> Any:
        ops = keras.ops
        y_true = ops.cast(y_true, "float32")
        p = ops.clip(ops.cast(y_pred, "float32"), EPSILON, 1.0 - EPSILON)
        present = ops.convert_to_tensor(self.present, dtype="float32")
        absent = ops.convert_to_tensor(self.absent, dtype="float32")
        per_label = -present * y_true * ops.log(p) - absent * (1.0 - y_true) * ops.log(1.0 - p)
        return ops.mean(per_label, axis=-1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "present": self.present, "absent": self.absent}


def build_losses(
    tasks: dict[str, TaskSpec],
    weights: dict[str, tuple[list[float], list[float]]],
    retrieval: RetrievalConfig | None = None,
    label_smoothing: float = 0.0,
) -> dict[str, Any]:
    """One loss per ``<task>_probs`` output, and the pair loss of the retrieval embedding;
    ``label_smoothing`` softens the single-label heads' one-hot targets."""
    losses: dict[str, Any] = {}
    if retrieval is not None and retrieval.enabled:
        losses[RETRIEVAL_OUTPUT] = MultiPositiveInfoNCE(retrieval.temperature)
    for name, task in tasks.items():
        if task.single:
            losses[f"{name}_probs"] = keras.losses.CategoricalCrossentropy(
                label_smoothing=label_smoothing, name=f"{name}_cce"
            )
        else:
            present, absent = weights[name]
            losses[f"{name}_probs"] = WeightedBinaryCrossentropy(present, absent, f"{name}_wbce")
    return losses

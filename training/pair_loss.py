"""The street-to-shop embedding's loss: a multi-positive InfoNCE over in-batch similarities.

Each image of a batch is an anchor; its positives are the other images of its group (the
same user-shop pair, or views of the same product), every other image is a negative. With
L2-normalised embeddings ``z`` and temperature ``t``::

    loss_i = -mean_{p in P(i)} log( exp(z_i.z_p / t) / sum_{j != i} exp(z_i.z_j / t) )

(the supervised contrastive loss of Khosla et al. 2020). An anchor without a positive in
its batch adds 0. The label of an image is its group as a number (exact in float32 below
2**24); the P x K batches of the input pipelines give every anchor a positive.

>>> import numpy as np
>>> loss = MultiPositiveInfoNCE(temperature=1.0)
>>> z = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], "float32")
>>> per_image = loss.call(np.array([5.0, 5.0, 7.0]), z)
>>> [round(float(v), 4) for v in per_image]  # log(1 + e^-1) twice; no positive: 0
[0.3133, 0.3133, 0.0]
"""

from __future__ import annotations

from typing import Any

import keras

GROUP_BUCKETS = 1 << 24  # group numbers stay exact in the float32 a Keras loss receives
MASKED = -1e9  # an image's similarity to itself: out of the softmax, finite for the gradient


@keras.saving.register_keras_serializable(package="street2shop")
class MultiPositiveInfoNCE(keras.losses.Loss):
    def __init__(self, temperature: float = 0.1, name: str = "pair_infonce", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        if temperature <= 0:
            raise ValueError(f"temperature must be positive. Received: {temperature}")
        self.temperature = float(temperature)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        ops = keras.ops
        groups = ops.reshape(ops.cast(y_true, "float32"), (-1,))
        z = ops.cast(y_pred, "float32")
        similarity = ops.matmul(z, ops.transpose(z)) / self.temperature
        itself = ops.eye(ops.shape(z)[0], dtype="float32")
        logits = similarity * (1.0 - itself) + MASKED * itself
        log_prob = logits - ops.logsumexp(logits, axis=1, keepdims=True)
        same = ops.cast(ops.equal(groups[:, None], groups[None, :]), "float32")
        positives = same * (1.0 - itself)
        count = ops.sum(positives, axis=1)
        return ops.sum(positives * -log_prob, axis=1) / ops.maximum(count, 1.0)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "temperature": self.temperature}


def group_text(pair_id: str, product_id: str, image_path: str) -> str:
    """What makes two images positives: the pair, else the product, else the image alone."""
    return pair_id or product_id or image_path


def kind_number(first_labels: list[int], sizes: list[int]) -> int:
    """Products of one kind (the same first label of each similar task) share this number:
    the labels' class indices read as digits of the mixed radix ``sizes``.

    >>> kind_number([2, 5], [15, 11])  # type class 2, colour class 5
    27
    """
    number = 0
    for label, size in zip(first_labels, sizes, strict=True):
        number = number * size + label
    return number

"""Per-label presence/absence weights of the weighted binary cross-entropy.

On the training split, for each label ``i`` of each task (``n`` training samples,
``n_i`` of them carrying label ``i``)::

    present_i = n / (2 n_i)        absent_i = n / (2 (n - n_i))

Samples are counted with their ``repeat`` (``count_repeats: true``, the default): the
weights then balance what the model actually sees per epoch after upsampling. A side
that no training sample has (``n_i = 0`` for present, ``n_i = n`` for absent) never
occurs in the loss; its weight is set to 1.0 (neutral) instead of dividing by zero, and
a warning names the label.

>>> import pandas as pd
>>> frame = pd.DataFrame({"colour": [["red"], ["red", "blue"], []], "split": "train"})
>>> from dataset.taxonomy.tasks import TaskSpec
>>> w, _ = label_weights(frame, {"colour": TaskSpec("colour", "multi_label", ["red", "blue"])})
>>> w["tasks"]["colour"]["present"], w["tasks"]["colour"]["absent"]
([0.75, 1.5], [1.5, 0.75])
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from dataset.taxonomy.tasks import TaskSpec

logger = logging.getLogger(__name__)

UNDEFINED_WEIGHT = 1.0


class WeightsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    count_repeats: bool = True
    split: str = "train"


def label_weights(
    frame: pd.DataFrame, specs: dict[str, TaskSpec], config: WeightsConfig | None = None
) -> tuple[dict[str, Any], list[str]]:
    """The ``label_weights.json`` document and the warnings about undefined sides."""
    config = config or WeightsConfig()
    train = frame[frame["split"] == config.split]
    if config.count_repeats and "repeat" in train:
        mult = train["repeat"].to_numpy(dtype=np.int64)
    else:
        mult = np.ones(len(train), dtype=np.int64)
    n = int(mult.sum())
    warnings: list[str] = []
    tasks: dict[str, Any] = {}
    for name, spec in specs.items():
        index = {cls: i for i, cls in enumerate(spec.classes)}
        counts = np.zeros(len(spec.classes), dtype=np.int64)
        values = train[name].tolist() if name in train else [None] * len(train)
        for labels, m in zip(values, mult, strict=True):
            for label in {str(v) for v in labels} if labels is not None else ():
                if label in index:
                    counts[index[label]] += m
        present, absent = [], []
        for cls, n_i in zip(spec.classes, counts.tolist(), strict=True):
            if n_i == 0:
                warnings.append(f"{name}/{cls}: no training sample has it (present weight 1.0)")
            if n_i == n:
                warnings.append(f"{name}/{cls}: every training sample has it (absent weight 1.0)")
            present.append(n / (2 * n_i) if n_i else UNDEFINED_WEIGHT)
            absent.append(n / (2 * (n - n_i)) if n - n_i else UNDEFINED_WEIGHT)
        tasks[name] = {
            "classes": list(spec.classes),
            "counts": counts.tolist(),
            "present": [round(v, 6) for v in present],
            "absent": [round(v, 6) for v in absent],
        }
    for warning in warnings:
        logger.warning("label weights: %s", warning)
    return {"n_samples": n, "tasks": tasks}, warnings

"""Upsample the minority classes of the training split, as the retailer did.

Each training row gets an integer ``repeat`` (how many times it is drawn per epoch;
1 outside the training split, which is never rebalanced). For each class of the
driving task (``type`` by default) with ``n_k`` training rows, the target is the largest
class's count, capped at ``cap * n_k`` (x2.5, the retailer's rule): the extra draws are
spread over the class's rows by seeded random draws without replacement (whole rounds
first when a class more than doubles), so no row is repeated more than ``ceil(cap)``
times and the class grows by at most ``cap``.

For a multi-label driving task a row counts for its rarest label in the training split
(the label it is the scarcest example of); rows without a label keep ``repeat = 1``.

>>> import pandas as pd
>>> frame = pd.DataFrame({"type": [["a"]] * 10 + [["b"]] * 2, "split": "train"})
>>> out, summary = rebalance(frame, BalanceConfig())
>>> int(out["repeat"].sum()), summary["factors"]["b"]
(15, 2.5)
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

logger = logging.getLogger(__name__)


class BalanceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task: str = "type"
    cap: float = Field(2.5, ge=1.0)
    seed: int = 0
    split: str = "train"


def _row_classes(labels: list[Any]) -> list[str | None]:
    lists = [[str(v) for v in value] if value is not None else [] for value in labels]
    counts: dict[str, int] = {}
    for values in lists:
        for value in values:
            counts[value] = counts.get(value, 0) + 1
    # The rarest label decides; ties go to the label's name for determinism.
    return [min(values, key=lambda v: (counts[v], v)) if values else None for values in lists]


def rebalance(frame: pd.DataFrame, config: BalanceConfig) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``frame`` with a ``repeat`` column, and the factor reached per class."""
    out = frame.copy()
    repeat = np.ones(len(out), dtype=np.int64)
    train = np.flatnonzero((out["split"] == config.split).to_numpy())
    labels = out[config.task].tolist() if config.task in out else [None] * len(out)
    classes = _row_classes([labels[i] for i in train])
    by_class: dict[str, list[int]] = {}
    for row, cls in zip(train, classes, strict=True):
        if cls is not None:
            by_class.setdefault(cls, []).append(int(row))
    target = max((len(rows) for rows in by_class.values()), default=0)
    rng = np.random.default_rng(config.seed)
    factors: dict[str, float] = {}
    for cls in sorted(by_class):
        rows = np.array(by_class[cls])
        n = len(rows)
        total = min(target, math.floor(config.cap * n))
        extra = max(total - n, 0)
        rounds, rest = divmod(extra, n)
        repeat[rows] += rounds
        if rest:
            repeat[rng.choice(rows, size=rest, replace=False)] += 1
        factors[cls] = round((n + extra) / n, 4)
    out["repeat"] = repeat
    summary = {
        "task": config.task,
        "cap": config.cap,
        "target": target,
        "rows": len(train),
        "draws": int(repeat[train].sum()),
        "factors": factors,
    }
    logger.info("rebalanced %d training rows to %d draws", len(train), summary["draws"])
    return out, summary

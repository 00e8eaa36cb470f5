"""Matplotlib charts of the dataset report, embedded as base64 PNG ``<img>`` tags."""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

BEFORE, AFTER, OTHER = "#9db4c0", "#1f6f8b", "#e0a458"


def count_labels(
    frame: pd.DataFrame, task: str, classes: Sequence[str], weights: Any = None
) -> list[int]:
    """Images (or ``weights``, e.g. repeats) per class of ``task`` in ``frame``."""
    index = {cls: i for i, cls in enumerate(classes)}
    counts = np.zeros(len(classes), dtype=np.int64)
    if task not in frame:
        return counts.tolist()
    mult = np.ones(len(frame), dtype=np.int64) if weights is None else np.asarray(weights)
    for labels, m in zip(frame[task].tolist(), mult, strict=True):
        for label in {str(v) for v in labels} if labels is not None else ():
            if label in index:
                counts[index[label]] += int(m)
    return counts.tolist()


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode()
    return f'<img class="plot" src="data:image/png;base64,{data}" alt="chart">'


def class_count_chart(
    task: str,
    classes: Sequence[str],
    before: Sequence[int],
    after: Sequence[int],
    others: Mapping[str, Sequence[int]],
) -> str:
    """Horizontal bars per class: train before/after rebalancing, and val+test."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    y = np.arange(len(classes))
    height = 0.27
    fig, ax = plt.subplots(figsize=(5.2, 0.32 * len(classes) + 1.0))
    ax.barh(y - height, before, height, color=BEFORE, label="train, before")
    ax.barh(y, after, height, color=AFTER, label="train, after")
    held_out = np.sum([np.asarray(v) for v in others.values()], axis=0) if others else None
    if held_out is not None:
        ax.barh(y + height, held_out, height, color=OTHER, label="val + test")
    ax.set_yticks(y, labels=list(classes), fontsize=8)
    ax.invert_yaxis()
    ax.tick_params(axis="x", labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="x", alpha=0.3)
    # Below the axes, never over a bar (a corner legend hid the smallest classes).
    ax.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.06), ncols=3)
    return _png(fig)

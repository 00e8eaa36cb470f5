"""Calibrate the stage 2 thresholds on scored candidate pairs whose truth is known.

The decision (:func:`dataset.dedup.verify.decide`) has one threshold per score. This
searches a grid of them for the setting of highest recall whose precision on the given
pairs reaches ``min_precision``, ties broken towards stricter thresholds, then moves each
threshold to the middle of the gap between the nearest scores on either side that would
change a decision (:func:`centre`): the same decisions on the given pairs, and the widest
margin on unseen ones, where a grid value would sit on the edge of the gap. Feed it the candidate pairs of a generated set with ground truth
(``bench/dedup_bench.py --calibrate`` does), then report the result on another set.

>>> import pandas as pd
>>> scores = pd.DataFrame({"ncc": [1.0, 1.0], "edge_ncc": [0.99, 0.5], "shift": [0, 0],
...     "chroma": [1, 1], "inliers": [50, 5], "inlier_ratio": [0.6, 0.1],
...     "warped_edge_ncc": [0.9, 0.1], "unmatched_edges": [0.0, 0.3],
...     "uncovered_edges": [0.0, 0.3], "recoloured": [0.0, 0.0]})
>>> result = calibrate(scores, pd.Series([True, False]), min_precision=0.99)
>>> result["recall"], result["precision"]
(1.0, 1.0)
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd

from dataset.dedup.config import DedupConfig
from dataset.dedup.verify import decide

# ``min_inliers`` is not searched: its default (12) is what a similarity fit needs not to
# be chance; from there the detail checks after the warp judge the pair, not the count.
# On the tuning set every setting from 8 to 12 scores the same (16 loses a true pair).
GRID: dict[str, list[float]] = {
    "min_inlier_ratio": [0.0, 0.1, 0.15, 0.2, 0.3],
    "min_warped_edge_ncc": [-1.0, 0.5, 0.7, 0.8],
    "max_unmatched_edges": [0.001, 0.002, 0.003, 0.005, 0.01, 0.02],
    "max_uncovered_edges": [0.0, 0.0005, 0.001],
    "max_overlaid_edges": [0.003, 0.005, 0.01, 0.02, 0.05],
    "min_edge_ncc": [0.97, 0.99, 1.01],
    "max_chroma": [6.0, 10.0, 15.0],
}


def scoring_config(base: DedupConfig, grid: dict[str, list[float]] | None = None) -> DedupConfig:
    """``base`` with the gates of :func:`dataset.dedup.verify.score_pair` opened to the
    loosest grid values: the scores calibration needs are computed for every pair."""
    grid = grid or GRID
    loosest = {
        name: max(values) if name.startswith("max_") else min(values)
        for name, values in grid.items()
        if name in ("max_chroma", "min_inlier_ratio")
    }
    return base.model_copy(update=loosest)


def calibrate(
    scores: pd.DataFrame,
    is_true: pd.Series,
    *,
    min_precision: float = 0.99,
    base: DedupConfig | None = None,
    grid: dict[str, list[float]] | None = None,
) -> dict[str, Any]:
    """``{"thresholds": {...}, "recall": r, "precision": p}`` of the best grid point.

    ``scores``: columns of :data:`dataset.dedup.verify.SCORES`, one row per candidate
    pair; ``is_true``: whether each is a true copy. Recall is over these candidates
    (pairs stage 1 never proposed are beyond any threshold).
    """
    base = base or DedupConfig.model_validate({})
    grid = grid or GRID
    truth = np.asarray(is_true, dtype=bool)
    best: tuple[tuple[float, ...], dict[str, Any]] | None = None
    names = list(grid)
    for values in itertools.product(*(grid[name] for name in names)):
        setting = dict(zip(names, values, strict=True))
        confirmed = decide(scores, base.model_copy(update=setting))
        found = int(confirmed.sum())
        hits = int((confirmed & truth).sum())
        precision = hits / found if found else 1.0
        if precision < min_precision:
            continue
        recall = hits / max(int(truth.sum()), 1)
        # Highest recall, then precision, then the strictest thresholds.
        strictness = tuple(v if not n.startswith("max_") else -v for n, v in setting.items())
        key = (recall, precision, *strictness)
        if best is None or key > best[0]:
            best = (key, {"thresholds": setting, "recall": recall, "precision": precision})
    if best is None:
        raise ValueError(f"no threshold setting reaches precision {min_precision}")
    chosen = best[1]
    return {
        **chosen,
        "thresholds": centre(scores, base.model_copy(update=chosen["thresholds"]), names),
    }


# The score each threshold reads (two thresholds read ``unmatched_edges``).
SCORE_OF = {
    "min_inlier_ratio": "inlier_ratio",
    "min_warped_edge_ncc": "warped_edge_ncc",
    "max_unmatched_edges": "unmatched_edges",
    "max_uncovered_edges": "uncovered_edges",
    "max_overlaid_edges": "unmatched_edges",
    "min_edge_ncc": "edge_ncc",
    "max_chroma": "chroma",
}


def centre(scores: pd.DataFrame, config: DedupConfig, names: list[str]) -> dict[str, float]:
    """``config``'s thresholds ``names``, each moved in turn to the middle of the widest
    interval around it over which no decision on ``scores`` changes (the decision is
    monotone in each threshold, so the same count of confirmed pairs is the same pairs).
    A threshold whose interval is open on one side (nothing beyond it would change) stays.
    """
    confirmed = int(decide(scores, config).sum())
    for name in names:
        value = float(getattr(config, name))
        values = np.unique(scores[SCORE_OF[name]].dropna().to_numpy(np.float64))
        at_most = name.startswith("max_")  # confirms scores <= it; "min_": scores >= it

        def changes(threshold: float, config: DedupConfig = config, name: str = name) -> bool:
            moved = config.model_copy(update={name: float(threshold)})
            return int(decide(scores, moved).sum()) != confirmed

        # The gap of a "max_" threshold is [a score, the next score); of a "min_" one
        # (a score, the next score]: the end it includes is tried just outside itself.
        lower = values[values <= value] if at_most else values[values < value]
        upper = values[values > value] if at_most else values[values >= value]
        outside = -np.inf if at_most else np.inf
        low = next(
            (x for x in lower[::-1] if changes(np.nextafter(x, outside) if at_most else x)), None
        )
        high = next((x for x in upper if changes(x if at_most else np.nextafter(x, outside))), None)
        if low is not None and high is not None:
            config = config.model_copy(update={name: float(np.round((low + high) / 2, 6))})
    return {name: float(getattr(config, name)) for name in names}

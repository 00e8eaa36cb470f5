"""Calibrated decisions for multi-label heads: one threshold per label, chosen on ``val``.

The multi-label heads are trained with the weighted binary cross-entropy of
``label_weights.json`` (``present = n / (2 n_i)``), which pushes the probability of a
rare label up: read at a fixed 0.5 it fires far too often (many false positives). Each
label therefore gets the threshold that maximises its F1 on the validation split,
recorded in ``encoder.json``:

``"thresholds": {task: {class: t}}`` and ``"calibration": {"split", "images",
"labels_without_positives"}``. A label is present when its probability is >= its
threshold; a label without a positive image in the validation split keeps 0.5.

NumPy only (any Keras backend), so the trainer, ``evaluate``, ``search`` and any
consumer of an export decide the same way:

>>> import numpy as np
>>> best_f1_threshold(np.array([0, 0, 1, 1]), np.array([0.1, 0.3, 0.35, 0.8]))
0.325
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dataset.taxonomy.tasks import TaskSpec

DEFAULT_THRESHOLD = 0.5


def best_f1_threshold(truth: np.ndarray, scores: np.ndarray) -> float | None:
    """The threshold maximising F1 of ``scores >= t`` against ``truth`` (None: no positive).

    Candidates are the midpoints between consecutive distinct scores, so the threshold
    sits in the gap the validation images leave rather than on one of them. Ties of F1
    go to the higher threshold (fewer positives claimed).
    """
    truth = np.asarray(truth) > 0.5
    scores = np.asarray(scores, dtype=np.float64)
    positives = int(truth.sum())
    if positives == 0:
        return None
    order = np.argsort(-scores, kind="stable")
    ranked, hits = scores[order], truth[order]
    true_pos = np.cumsum(hits)
    claimed = np.arange(1, len(ranked) + 1)
    # Cutting after position i claims ranked[: i + 1]; only cuts between distinct scores count.
    distinct = np.append(ranked[:-1] > ranked[1:], True)
    f1 = np.where(distinct, 2 * true_pos / (claimed + positives), -1.0)
    best = int(np.argmax(f1))  # first maximum: the highest threshold
    below = ranked[best + 1] if best + 1 < len(ranked) else ranked[best] - 1e-3
    return round(float((ranked[best] + below) / 2), 6)


def calibrate(
    tasks: dict[str, TaskSpec], predictions: dict[str, tuple[np.ndarray, np.ndarray]], split: str
) -> dict[str, Any]:
    """``thresholds`` and ``calibration`` for ``encoder.json`` from one split's predictions
    (``{task: (labels, probabilities)}``, as ``trainer.predict_split`` returns them)."""
    thresholds: dict[str, dict[str, float]] = {}
    without: list[str] = []
    images = 0
    for name, (truth, probs) in predictions.items():
        task = tasks[name]
        images = len(truth)
        if task.single:
            continue  # single-label heads decide by argmax
        per_label: dict[str, float] = {}
        for i, cls in enumerate(task.classes):
            threshold = best_f1_threshold(truth[:, i], probs[:, i])
            if threshold is None:
                without.append(f"{name}/{cls}")
            per_label[cls] = DEFAULT_THRESHOLD if threshold is None else threshold
        thresholds[name] = per_label
    return {
        "thresholds": thresholds,
        "calibration": {"split": split, "images": images, "labels_without_positives": without},
    }


def threshold_vector(thresholds: dict[str, dict[str, float]], task: TaskSpec) -> np.ndarray:
    """The thresholds of ``task`` in class order (0.5 for a class the record lacks)."""
    recorded = thresholds.get(task.name, {})
    return np.array([float(recorded.get(c, DEFAULT_THRESHOLD)) for c in task.classes])


def decide(task: TaskSpec, probs: np.ndarray, thresholds: np.ndarray | None) -> np.ndarray:
    """Boolean decisions ``(n, classes)``: argmax for single-label tasks, else per-label
    thresholds (0.5 when ``thresholds`` is None)."""
    probs = np.asarray(probs, dtype=np.float64)
    if task.single:
        return np.eye(len(task.classes), dtype=bool)[probs.argmax(axis=1)]
    limit = DEFAULT_THRESHOLD if thresholds is None else thresholds[None, :]
    return np.asarray(probs >= limit)


def decision_report(
    task: TaskSpec, y_true: np.ndarray, y_prob: np.ndarray, thresholds: np.ndarray
) -> dict[str, Any]:
    """Per-label precision/recall/F1 and macro-F1 of a multi-label task at ``thresholds``."""
    truth = np.asarray(y_true) > 0.5
    pred = decide(task, y_prob, thresholds)
    true_pos = (truth & pred).sum(axis=0)
    claimed, actual = pred.sum(axis=0), truth.sum(axis=0)
    precision = np.divide(true_pos, claimed, out=np.zeros(len(true_pos)), where=claimed > 0)
    recall = np.divide(true_pos, actual, out=np.zeros(len(true_pos)), where=actual > 0)
    f1 = np.divide(
        2 * true_pos, claimed + actual, out=np.zeros(len(true_pos)), where=claimed + actual > 0
    )
    labels = {
        cls: {
            "threshold": round(float(thresholds[i]), 4),
            "precision": round(float(precision[i]), 4),
            "recall": round(float(recall[i]), 4),
            "f1": round(float(f1[i]), 4),
        }
        for i, cls in enumerate(task.classes)
    }
    return {
        "macro_f1": round(float(np.mean(f1)), 4),
        "exact_match": round(float(np.mean(np.all(pred == truth, axis=1))), 4),
        "labels": labels,
    }


def attributes(
    tasks: dict[str, TaskSpec],
    probs: dict[str, np.ndarray],
    thresholds: dict[str, dict[str, float]],
) -> dict[str, list[dict[str, Any]]]:
    """The labels decided for one image, per task, most probable first:
    ``{task: [{"label", "prob"}]}`` (``probs``: ``{task: (classes,)}``)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name, task in tasks.items():
        if name not in probs:
            continue
        row = np.asarray(probs[name], dtype=np.float64).reshape(1, -1)
        limits = threshold_vector(thresholds, task) if name in thresholds else None
        chosen = np.flatnonzero(decide(task, row, limits)[0])
        chosen = chosen[np.argsort(-row[0, chosen], kind="stable")]
        out[name] = [{"label": task.classes[i], "prob": round(float(row[0, i]), 4)} for i in chosen]
    return out

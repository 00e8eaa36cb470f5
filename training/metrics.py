"""Metrics: Keras metrics logged while training, and the full report of ``evaluate``.

While training (per task): accuracy (categorical for single-label; per-label binary at
0.5 for multi-label, the retailer's figure) and, for multi-label heads, precision and
recall at 0.5 and the label-averaged AUC. After training and in ``evaluate``
(:func:`task_report`): per-label precision/recall/F1 at 0.5, per-label AUC, confusion
matrices, and for multi-label heads the top-1 accuracy (the best-scored label is one of
the image's labels) and the exact-match rate, which unlike per-label accuracy are not
inflated by the many absent labels.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dataset.taxonomy.tasks import TaskSpec

THRESHOLD = 0.5


def keras_metrics(tasks: dict[str, TaskSpec]) -> dict[str, list[Any]]:
    import keras

    metrics: dict[str, list[Any]] = {}
    for name, task in tasks.items():
        if task.single:
            metrics[f"{name}_probs"] = [keras.metrics.CategoricalAccuracy(name="accuracy")]
        else:
            metrics[f"{name}_probs"] = [
                keras.metrics.BinaryAccuracy(name="accuracy", threshold=THRESHOLD),
                keras.metrics.Precision(name="precision", thresholds=THRESHOLD),
                keras.metrics.Recall(name="recall", thresholds=THRESHOLD),
                keras.metrics.AUC(name="auc", multi_label=True, num_labels=len(task.classes)),
            ]
    return metrics


def _round(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), 4)


def task_report(task: TaskSpec, y_true: np.ndarray, y_prob: np.ndarray) -> dict[str, Any]:
    """Accuracy, per-label P/R/F1/AUC and confusion matrices of one task's predictions."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support, roc_auc_score

    y_true = np.asarray(y_true) > 0.5
    y_prob = np.asarray(y_prob, dtype=np.float64)
    n_classes = len(task.classes)
    report: dict[str, Any] = {"kind": task.kind, "classes": list(task.classes), "n": len(y_true)}
    if task.single:
        truth, pred = y_true.argmax(axis=1), y_prob.argmax(axis=1)
        y_pred = np.eye(n_classes, dtype=bool)[pred]
        report["accuracy"] = _round(float(np.mean(truth == pred)))
        matrix = confusion_matrix(truth, pred, labels=list(range(n_classes)))
        report["confusion"] = {"rows": "true", "columns": "predicted", "matrix": matrix.tolist()}
    else:
        y_pred = y_prob >= THRESHOLD
        top = y_prob.argmax(axis=1)
        report["accuracy"] = _round(float(np.mean(y_pred == y_true)))
        report["top1_accuracy"] = _round(float(np.mean(y_true[np.arange(len(top)), top])))
        report["exact_match"] = _round(float(np.mean(np.all(y_pred == y_true, axis=1))))
        # Rows: true label; columns: predicted label (an image counts in every pair it has).
        cooc = y_true.T.astype(np.int64) @ y_pred.astype(np.int64)
        report["confusion"] = {"rows": "true", "columns": "predicted", "matrix": cooc.tolist()}
        report["label_confusion"] = {
            cls: confusion_matrix(y_true[:, i], y_pred[:, i], labels=[False, True]).tolist()
            for i, cls in enumerate(task.classes)
        }
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, average=None, labels=list(range(n_classes)), zero_division=0
    )
    labels = {}
    for i, cls in enumerate(task.classes):
        positives = int(y_true[:, i].sum())
        auc = None
        if 0 < positives < len(y_true):
            auc = float(roc_auc_score(y_true[:, i], y_prob[:, i]))
        labels[cls] = {
            "precision": _round(precision[i]),
            "recall": _round(recall[i]),
            "f1": _round(f1[i]),
            "auc": _round(auc),
            "support": int(support[i]),
        }
    report["labels"] = labels
    report["macro_f1"] = _round(float(np.mean(f1)))
    aucs = [v["auc"] for v in labels.values() if v["auc"] is not None]
    report["macro_auc"] = _round(float(np.mean(aucs))) if aucs else None
    return report

"""``s2s-train evaluate``: a trained encoder on a split (default ``test``) of a dataset.

Writes ``<model>/eval/<split>/``: ``metrics.json`` (per task accuracy, per-label
precision/recall/F1/AUC, confusion matrices), ``confusion-<task>.png`` and
``confusion-<task>.json`` (for a multi-label task: label pairs, titled so, plus
``labels-<task>.png``, one 2x2 matrix per label), ``index.html`` (every figure on one page,
linked to the dataset version's report) and ``summary.txt`` (also printed). ``--compare`` takes a
previous run folder (or its ``metrics.json``) and adds the differences.

Multi-label heads are also read at their calibrated thresholds (training/calibration.py):
those of ``encoder.json`` (chosen on ``val`` after ``fit``) or, for an encoder that has
none, chosen here on the dataset's ``val`` split (``calibration.source`` says which).
Every headline figure comes with what chance scores on the same images (``chance``).
``views`` (training/views.py) averages the heads' probabilities over the image and
altered copies of it (test-time augmentation); ``result["views"]`` names them.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from typing import Any

from dataset.core.errors import UserError
from dataset.core.store import open_store
from dataset.taxonomy.tasks import TaskSpec

logger = logging.getLogger(__name__)

HEADLINE = ("accuracy", "top1_accuracy", "macro_f1", "macro_f1_calibrated", "macro_auc")


def _encoder_tasks(meta: dict[str, Any], dataset_tasks: dict[str, TaskSpec]) -> dict[str, TaskSpec]:
    tasks: dict[str, TaskSpec] = {}
    for name, spec in meta["tasks"].items():
        if name not in dataset_tasks:
            raise UserError(
                f"the encoder's task {name!r} is not in the dataset. "
                f"Received dataset tasks: {list(dataset_tasks)}"
            )
        if list(spec.get("classes", [])) != dataset_tasks[name].classes:
            raise UserError(
                f"task {name!r}: the encoder's classes differ from the dataset's. "
                f"Received: {dataset_tasks[name].classes}"
            )
        tasks[name] = dataset_tasks[name]
    return tasks


def _save(fig: Any) -> bytes:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=110)
    plt.close(fig)
    return out.getvalue()


def confusion_png(report: dict[str, Any], task: str, split: str) -> bytes:
    """Rows true, columns predicted. For a multi-label task the cells count label pairs
    (an image counts once per pair of a true and a predicted label), and say so."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    matrix = np.asarray(report["confusion"]["matrix"], dtype=float)
    classes = report["classes"]
    rows = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    side = 2.5 + 0.45 * len(classes)
    fig, ax = plt.subplots(figsize=(side + 1, side))
    image = ax.imshow(rows, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(classes)), classes, rotation=60, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    if "label_confusion" in report:  # set for multi-label tasks only
        ax.set_xlabel("predicted label")
        ax.set_ylabel("true label")
        ax.set_title(
            f"{task} ({split}): label pairs, not a confusion matrix\n"
            f"{int(matrix.sum())} (true, predicted) pairs from {report['n']} images",
            fontsize=10,
        )
        bar = "share of the true label's pairs"
    else:
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"{task} ({split}): confusion matrix, {report['n']} images", fontsize=10)
        bar = "share of the true row"
    for (i, j), value in np.ndenumerate(matrix):
        if value:
            ax.text(j, i, f"{int(value)}", ha="center", va="center", fontsize=7,
                    color="white" if rows[i, j] > 0.5 else "black")  # fmt: skip
    fig.colorbar(image, ax=ax, fraction=0.046, label=bar)
    return _save(fig)


def label_confusion_png(report: dict[str, Any], task: str, split: str) -> bytes:
    """One 2x2 confusion matrix per label of a multi-label task (absent/present)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    labels = report["label_confusion"]
    columns = min(6, len(labels))
    rows = -(-len(labels) // columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(1.9 * columns, 2.0 * rows + 0.6), squeeze=False
    )
    for ax, (cls, cells) in zip(axes.flat, labels.items(), strict=False):
        matrix = np.asarray(cells, dtype=float)
        ax.imshow(matrix / max(matrix.sum(), 1), cmap="Blues", vmin=0, vmax=1)
        for (i, j), value in np.ndenumerate(matrix):
            ax.text(j, i, f"{int(value)}", ha="center", va="center", fontsize=8)
        ax.set_xticks([0, 1], ["no", "yes"], fontsize=7)
        ax.set_yticks([0, 1], ["no", "yes"], fontsize=7)
        ax.set_title(cls, fontsize=9)
    for ax in list(axes.flat)[len(labels) :]:
        ax.axis("off")
    fig.suptitle(
        f"{task} ({split}): per label, true (rows) x predicted (columns), {report['n']} images",
        fontsize=10,
    )
    return _save(fig)


def evaluation_page(result: dict[str, Any], figures: dict[str, bytes], link: str | None) -> str:
    """The figures of one evaluation on one HTML page, in the dataset report's style."""
    from dataset.report.figures import figures_page, png_figure, short_name
    from dataset.report.html import table

    rows = [
        [task, *(f"{report[k]:.3f}" if report.get(k) is not None else "-" for k in HEADLINE)]
        for task, report in result["tasks"].items()
    ]
    sections = [("Headline metrics", table(["task", *HEADLINE], rows, "narrow"))]
    sections += [(name, png_figure(data, name)) for name, data in figures.items()]
    subtitle = (
        f"{short_name(result['model'])} on {result['split']} of {short_name(result['dataset'])}"
    )
    return figures_page("Model evaluation", subtitle, sections, link)


def _previous(uri: str, split: str) -> dict[str, Any]:
    if uri.endswith(".json"):
        parent, _, name = uri.rpartition("/")
        return dict(open_store(parent or ".").read_json(name))
    store = open_store(uri)
    key = f"eval/{split}/metrics.json"
    if not store.exists(key):
        raise UserError(f"--compare {uri}: no {key} (run `s2s-train evaluate` on it first)")
    return dict(store.read_json(key))


def compare(current: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
    """Per task, headline metric -> {now, before, delta} for the metrics both have."""
    out: dict[str, Any] = {}
    for task, report in current["tasks"].items():
        before = previous.get("tasks", {}).get(task)
        if not before:
            continue
        out[task] = {
            key: {
                "now": report[key],
                "before": before[key],
                "delta": round(report[key] - before[key], 4),
            }
            for key in HEADLINE
            if report.get(key) is not None and before.get(key) is not None
        }
    return out


def chance(task: TaskSpec, y_true: Any) -> dict[str, float]:
    """What a guess that never looks at the image scores on these labels.

    Single-label: always the most frequent class (``accuracy``). Multi-label: always the
    most frequent label (``top1_accuracy``); every label always present, the best
    constant guess for F1 (``macro_f1`` and ``macro_f1_calibrated``); AUC 0.5.
    """
    import numpy as np

    truth = np.asarray(y_true) > 0.5
    prevalence = truth.mean(axis=0) if len(truth) else np.zeros(truth.shape[1])
    if task.single:
        return {"accuracy": round(float(prevalence.max()), 4)}
    f1 = round(float(np.mean(2 * prevalence / (1 + prevalence))), 4)
    return {
        "top1_accuracy": round(float(prevalence.max()), 4),
        "macro_f1": f1,
        "macro_f1_calibrated": f1,
        "macro_auc": 0.5,
    }


def summary_text(result: dict[str, Any]) -> str:
    lines = [
        f"{result['model']} on {result['split']} of {result['dataset']} ({result['n']} images)"
    ]
    calibration = result.get("calibration", {})
    if calibration:
        lines.append(f"  thresholds: {calibration['source']}")
    if len(result.get("views", [])) > 1:
        lines.append(f"  probabilities averaged over: {', '.join(result['views'])}")
    for task, report in result["tasks"].items():
        odds = report.get("chance", {})
        parts = [
            f"{key} {report[key]:.3f}" + (f" (chance {odds[key]:.3f})" if key in odds else "")
            for key in HEADLINE
            if report.get(key) is not None
        ]
        lines.append(f"  {task:<10} " + ", ".join(parts))
        labels = report.get("calibrated", report)["labels"]
        weakest = sorted(
            (v["f1"], cls)
            for cls, v in labels.items()
            if report["labels"][cls]["support"] and v["f1"] is not None
        )[:3]
        if weakest:
            lines.append(
                "             weakest F1: " + ", ".join(f"{c} {f:.2f}" for f, c in weakest)
            )
    for task, deltas in result.get("comparison", {}).items():
        text = ", ".join(f"{k} {v['delta']:+.3f}" for k, v in deltas.items())
        lines.append(f"  vs previous {task}: {text}")
    for key in ("skipped_corrupt", "skipped_undecodable"):
        if result["scan"].get(key):
            lines.append(f"  {key}: {result['scan'][key]}")
    return "\n".join(lines)


def _thresholds(
    encoder_meta: dict[str, Any], info: Any, tasks: dict[str, TaskSpec], batch_size: int,
    image_size: int, model: Any, pipeline: str,
) -> tuple[dict[str, dict[str, float]], dict[str, Any]]:  # fmt: skip
    """The encoder's calibrated thresholds, else thresholds chosen now on ``val``."""
    from training.calibration import calibrate
    from training.inputs import batches, scan_records
    from training.trainer import predict_split

    if "thresholds" in encoder_meta:
        recorded = dict(encoder_meta.get("calibration", {}))
        split = recorded.get("split", "?")
        return dict(encoder_meta["thresholds"]), {
            **recorded,
            "source": f"encoder.json (chosen on its {split} split after fit)",
        }
    if not any(not task.single for task in tasks.values()):
        return {}, {}
    if "val" not in info.splits:
        logger.warning("encoder.json has no thresholds and the dataset no val split")
        return {}, {"source": "none: encoder.json has no thresholds, the dataset no val split"}
    scan = scan_records(info, "val", tasks, pipeline)
    data = batches(info, "val", tasks, scan, batch_size, image_size, pipeline)
    chosen = calibrate(tasks, predict_split(model, data, tasks), "val")
    logger.info("encoder.json has no thresholds: chosen on the val split")
    return chosen["thresholds"], {
        **chosen["calibration"],
        "source": "chosen by evaluate on the dataset's val split (encoder.json has none)",
    }


def evaluate(
    model_uri: str,
    dataset_uri: str,
    split: str = "test",
    batch_size: int = 64,
    previous: str | None = None,
    cache_dir: str | None = None,
    max_bad_fraction: float = 0.01,
    views: Sequence[str] = (),
) -> dict[str, Any]:
    from training.calibration import decision_report, threshold_vector
    from training.data import check_split, stage_dataset
    from training.encoder_io import load_encoder
    from training.inputs import batches, choose_pipeline, scan_records
    from training.metrics import task_report
    from training.trainer import predict_split
    from training.views import averaged_over_views

    encoder = load_encoder(model_uri)
    predictor = averaged_over_views(encoder.model, views) if views else encoder.model
    info = stage_dataset(dataset_uri, cache_dir)
    tasks = _encoder_tasks(encoder.meta, info.tasks)
    pipeline = choose_pipeline()
    scan = scan_records(info, split, tasks, pipeline)
    check_split(info, split, scan, max_bad_fraction)
    data = batches(info, split, tasks, scan, batch_size, encoder.image_size, pipeline)
    predictions = predict_split(predictor, data, tasks)
    reports = {name: task_report(tasks[name], *pair) for name, pair in predictions.items()}
    thresholds, calibration = _thresholds(
        encoder.meta, info, tasks, batch_size, encoder.image_size, predictor, pipeline
    )
    for name, (truth, probs) in predictions.items():
        task, report = tasks[name], reports[name]
        if not task.single and name in thresholds:
            calibrated = decision_report(task, truth, probs, threshold_vector(thresholds, task))
            report["calibrated"] = calibrated
            report["macro_f1_calibrated"] = calibrated["macro_f1"]
        report["chance"] = chance(task, truth)
    if calibration.get("split") == split:
        calibration["source"] += (
            f"; {split} is the evaluated split: calibrated figures are optimistic"
        )
    result: dict[str, Any] = {
        "model": model_uri,
        "encoder_id": encoder.encoder_id,
        "dataset": dataset_uri,
        "split": split,
        "views": ["image", *views],
        "n": scan.records,
        "scan": scan.to_json(),
        "calibration": calibration,
        "tasks": reports,
    }
    if previous:
        result["comparison"] = compare(result, _previous(previous, split))
    store = open_store(model_uri)
    prefix = f"eval/{split}/"
    figures: dict[str, bytes] = {}
    for name, report in reports.items():
        multi = "label_confusion" in report
        matrix = confusion_png(report, name, split)
        figures[f"{name}: {'label pairs' if multi else 'confusion matrix'}"] = matrix
        store.write_bytes(f"{prefix}confusion-{name}.png", matrix)
        store.write_json(f"{prefix}confusion-{name}.json", report["confusion"])
        if multi:
            per_label = label_confusion_png(report, name, split)
            figures[f"{name}: per label"] = per_label
            store.write_bytes(f"{prefix}labels-{name}.png", per_label)
    from dataset.report.figures import report_link

    link = report_link(dataset_uri, store, f"{prefix}index.html")
    store.write_text(f"{prefix}index.html", evaluation_page(result, figures, link))
    store.write_json(f"{prefix}metrics.json", result)
    store.write_text(f"{prefix}summary.txt", summary_text(result) + "\n")
    return result

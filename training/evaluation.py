"""``s2s-train evaluate``: a trained encoder on a split (default ``test``) of a dataset.

Writes ``<model>/eval/<split>/``: ``metrics.json`` (per task accuracy, per-label
precision/recall/F1/AUC, confusion matrices), ``confusion-<task>.png`` and
``confusion-<task>.json``, and ``summary.txt`` (also printed). ``--compare`` takes a
previous run folder (or its ``metrics.json``) and adds the differences.
"""

from __future__ import annotations

import io
import logging
from typing import Any

from dataset.core.errors import UserError
from dataset.core.store import open_store
from dataset.taxonomy.tasks import TaskSpec

logger = logging.getLogger(__name__)

HEADLINE = ("accuracy", "top1_accuracy", "macro_f1", "macro_auc")


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


def confusion_png(report: dict[str, Any], title: str) -> bytes:
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
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for (i, j), value in np.ndenumerate(matrix):
        if value:
            ax.text(j, i, f"{int(value)}", ha="center", va="center", fontsize=7,
                    color="white" if rows[i, j] > 0.5 else "black")  # fmt: skip
    fig.colorbar(image, ax=ax, fraction=0.046, label="share of the true row")
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=110)
    plt.close(fig)
    return out.getvalue()


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


def summary_text(result: dict[str, Any]) -> str:
    lines = [
        f"{result['model']} on {result['split']} of {result['dataset']} ({result['n']} images)"
    ]
    for task, report in result["tasks"].items():
        parts = [f"{key} {report[key]:.3f}" for key in HEADLINE if report.get(key) is not None]
        lines.append(f"  {task:<10} " + ", ".join(parts))
        weakest = sorted(
            (v["f1"], cls)
            for cls, v in report["labels"].items()
            if v["support"] and v["f1"] is not None
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


def evaluate(
    model_uri: str,
    dataset_uri: str,
    split: str = "test",
    batch_size: int = 64,
    previous: str | None = None,
    cache_dir: str | None = None,
    max_bad_fraction: float = 0.01,
) -> dict[str, Any]:
    from training.data import check_split, stage_dataset
    from training.encoder_io import load_encoder
    from training.inputs import batches, choose_pipeline, scan_records
    from training.metrics import task_report
    from training.trainer import predict_split

    encoder = load_encoder(model_uri)
    info = stage_dataset(dataset_uri, cache_dir)
    tasks = _encoder_tasks(encoder.meta, info.tasks)
    pipeline = choose_pipeline()
    scan = scan_records(info, split, tasks, pipeline)
    check_split(info, split, scan, max_bad_fraction)
    data = batches(info, split, tasks, scan, batch_size, encoder.image_size, pipeline)
    predictions = predict_split(encoder.model, data, tasks)
    reports = {name: task_report(tasks[name], *pair) for name, pair in predictions.items()}
    result: dict[str, Any] = {
        "model": model_uri,
        "encoder_id": encoder.encoder_id,
        "dataset": dataset_uri,
        "split": split,
        "n": scan.records,
        "scan": scan.to_json(),
        "tasks": reports,
    }
    if previous:
        result["comparison"] = compare(result, _previous(previous, split))
    store = open_store(model_uri)
    prefix = f"eval/{split}/"
    for name, report in reports.items():
        store.write_bytes(
            f"{prefix}confusion-{name}.png", confusion_png(report, f"{name} ({split})")
        )
        store.write_json(f"{prefix}confusion-{name}.json", report["confusion"])
    store.write_json(f"{prefix}metrics.json", result)
    store.write_text(f"{prefix}summary.txt", summary_text(result) + "\n")
    return result

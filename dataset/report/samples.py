"""Samples per class with every house label and the raw label each came from."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dataset.pipeline.engine import StageContext
from dataset.report.config import ReportConfig
from dataset.report.html import (
    attrs,
    count_line,
    esc,
    filterable,
    first_label,
    gallery,
    labels_list,
)
from dataset.report.thumbs import Thumbnails


def _text(value: Any) -> str:
    """A cell as text: lists joined, missing values empty."""
    if value is None:
        return ""
    if isinstance(value, list | tuple | np.ndarray):
        return ", ".join(str(v) for v in value)
    if isinstance(value, float) and np.isnan(value):
        return ""
    return str(value)


def _picture(row: dict[str, Any]) -> tuple[str, str]:
    """The photo the shards hold (the cut-out, or the original on a fallback) and a note."""
    status = str(row.get("segmentation") or "")
    cut = row.get("segmented_path")
    if status == "segmented" and isinstance(cut, str):
        return cut, "cut-out"
    if status.startswith("fallback"):
        return str(row["image_path"]), "original: " + status
    return str(row["image_path"]), ""


def _pick(rows: pd.DataFrame, count: int, seed: int) -> list[dict[str, Any]]:
    """``count`` random rows, the domains taking turns (so user photos are not drowned)."""
    if "domain" not in rows:
        return list(rows.sample(min(count, len(rows)), random_state=seed).to_dict("records"))
    queues = [
        group.sample(len(group), random_state=seed).to_dict("records")
        for _, group in rows.groupby("domain", sort=True)
    ]
    turns = [
        row for i in range(max(map(len, queues))) for q in queues if i < len(q) for row in [q[i]]
    ]
    return turns[:count]


def _raw_labels(context: StageContext, cfg: ReportConfig) -> dict[str, dict[str, Any]]:
    """image_path -> raw columns, from the map stage's rows (the merge keeps no raw words)."""
    if not context.has("map"):
        return {}
    frame = context.frame("map")
    columns = [c for c in cfg.raw_columns.values() if c in frame]
    unique = frame.drop_duplicates("image_path").set_index("image_path")[columns]
    return {str(k): v for k, v in unique.to_dict("index").items()}


def samples_section(
    context: StageContext, manifest: pd.DataFrame, thumbs: Thumbnails, cfg: ReportConfig
) -> str:
    spec = context.specs.get(cfg.sample_task)
    if spec is None or cfg.sample_task not in manifest:
        return f"<p>No task {esc(cfg.sample_task)} in this dataset.</p>"
    first = manifest[cfg.sample_task].map(first_label)
    raw = _raw_labels(context, cfg)
    items, empty = [], []
    for cls in spec.classes:
        rows = manifest[first == cls]
        if rows.empty:
            empty.append(cls)
            continue
        for row in _pick(rows, cfg.samples_per_class, cfg.seed):
            path, note = _picture(row)
            source = {**row, **raw.get(str(row["image_path"]), {})}
            labels = [
                (task, _text(row.get(task)), _text(source.get(cfg.raw_columns.get(task, ""))))
                for task in context.specs
            ]
            keys = {
                "class": cls,
                "domain": row.get("domain", ""),
                "split": row.get("split", ""),
            }
            caption = " · ".join(x for x in (str(row.get("split", "")), note) if x)
            items.append(
                f'<div class="item sample"{attrs(keys)}>{thumbs.tag(path, caption)}'
                f"{labels_list(labels)}</div>"
            )
    intro = (
        f"<p>{cfg.samples_per_class} random images per {esc(cfg.sample_task)} class, domains in turn (seed "
        f"{cfg.seed}), each with its house labels and, after 'from', the raw label it was "
        "mapped from (catalogue rows carry codes, not raw words). A fallback photo is marked.</p>"
    )
    if empty:
        intro += '<p class="warn">No image: ' + ", ".join(esc(c) for c in empty) + "</p>"
    body = count_line(len(items), len(manifest), "images")
    return intro + filterable(
        body + gallery(items, "gallery samples"), ["class", "domain", "split"], [], "samples"
    )

"""The segmentation section: the stage's own counts and a gallery of its decisions.

Counts come from ``stages/segment.json``; the per-domain table and the gallery read the
stage's per-row status (``segmentation``: ``segmented``, ``fallback: <reason>`` or
``bad: <reason>``), never whether ``segmented_path`` is set (a fallback sets it to the
original photo).
"""

from __future__ import annotations

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
    record,
    table,
)
from dataset.report.thumbs import Thumbnails


def statuses(frame: pd.DataFrame) -> pd.Series:
    """The decision per row: ``segmented``, ``fallback`` or ``bad`` (``unknown`` if absent)."""
    column = frame.get("segmentation", pd.Series("unknown", index=frame.index))
    return column.fillna("unknown").astype(str).str.split(":").str[0]


def _per_domain(frame: pd.DataFrame) -> str:
    unique = frame.drop_duplicates("image_path")
    status = statuses(unique)
    domain = unique.get("domain", pd.Series("unknown", index=unique.index)).fillna("unknown")
    counts = pd.crosstab(domain, status)
    decisions = [c for c in ("segmented", "fallback", "bad") if c in counts.columns]
    rows = []
    for name, row in counts.iterrows():
        total = int(row.sum())
        share = f"{100 * row.get('fallback', 0) / total:.1f}%" if total else "-"
        rows.append([name, total, *(int(row[c]) for c in decisions), share])
    return "<h3>Per domain</h3>" + table(
        ["domain", "images", *decisions, "fallback share"], rows, "narrow"
    )


def segmentation_section(context: StageContext, thumbs: Thumbnails, cfg: ReportConfig) -> str:
    summary = context.summary("segment")
    frame = context.frame("segment")
    reasons = summary.get("fallback_reasons", {})
    reason_list = ", ".join(
        f"{esc(str(k).removeprefix('fallback: '))} {record('segment', f'fallback_reasons.{k}', v)}"
        for k, v in sorted(reasons.items(), key=lambda kv: -kv[1])
    )
    intro = (
        f"<p>{record('segment', 'segmented', summary.get('segmented', 0))} of "
        f"{record('segment', 'images', summary.get('images', 0))} images segmented, "
        f"{record('segment', 'fallback', summary.get('fallback', 0))} fell back to the original photo"
        + (f" ({reason_list})" if reason_list else "")
        + f", {record('segment', 'bad', summary.get('bad', 0))} unreadable.</p>"
    )
    boxes = summary.get("box_sources", {})
    if boxes:
        intro += (
            "<p>Boxes from: "
            + ", ".join(
                f"{esc(k)} {record('segment', f'box_sources.{k}', v)}" for k, v in boxes.items()
            )
            + "</p>"
        )

    unique = frame.drop_duplicates("image_path").assign(_status=lambda f: statuses(f))
    unique["_decision"] = unique.get("segmentation", unique["_status"]).fillna("unknown")
    # Fallbacks first (the weakness to review), then successes; each domain in turn.
    order = {"fallback": 0, "bad": 1, "segmented": 2}
    groups = sorted(
        unique.groupby(["_decision", "domain"] if "domain" in unique else ["_decision"]),
        key=lambda kv: (order.get(str(kv[1]["_status"].iloc[0]), 3), str(kv[0])),
    )
    shown = []
    for _, rows in groups:
        for row in rows.head(cfg.segmentation_examples).to_dict("records"):
            status = str(row["_status"])
            figs = thumbs.tag(row["image_path"], "photo")
            if status == "segmented":
                figs += thumbs.tag(row.get("segmented_path"), "cut-out")
            keys = {
                "domain": row.get("domain", ""),
                "class": first_label(row.get(cfg.sample_task)),
                "decision": row["_decision"],
            }
            shown.append(
                f'<div class="item pair {esc(status)}"{attrs(keys)}><div class="row">{figs}</div>'
                f"<p>{esc(row['_decision'])} · {esc(row.get('source', ''))}"
                + (f" · box: {esc(row['box_source'])}" if row.get("box_source") else "")
                + "</p></div>"
            )
    body = count_line(
        len(shown),
        int(summary.get("images", len(unique))),
        "decisions",
        f"({cfg.segmentation_examples} per decision and domain; all: stages/segment.parquet)",
    )
    return (
        intro
        + _per_domain(frame)
        + filterable(body + gallery(shown), ["domain", "class", "decision"], [], "segmentation")
    )

"""Bad inputs (every stage's, with path and reason) and the outliers worth a look."""

from __future__ import annotations

from typing import Any

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
from dataset.report.outliers import flags, measure_all, severity
from dataset.report.thumbs import Thumbnails

BAD_LISTS = {"check": "bad", "dedup": "bad_images", "segment": "bad_images", "export": "bad"}


def bad_inputs(context: StageContext) -> list[dict[str, Any]]:
    """Every stage's list of unreadable inputs, each entry tagged with its stage."""
    return [
        {**entry, "stage": stage}
        for stage, key in BAD_LISTS.items()
        for entry in context.summary(stage).get(key, [])
    ]


def bad_inputs_section(bad: list[dict[str, Any]], context: StageContext, cfg: ReportConfig) -> str:
    check = context.summary("check")
    head = ""
    if check:
        head = (
            f"<p>The check stage read {record('check', 'checked', check.get('checked', 0))} images: "
            f"{record('check', 'usable', check.get('usable', 0))} usable; "
            + ", ".join(
                f"{esc(reason)} {record('check', f'bad_by_reason.{reason}', n)}"
                for reason, n in sorted(
                    check.get("bad_by_reason", {}).items(), key=lambda kv: -kv[1]
                )
            )
            + ".</p>"
        )
    if not bad:
        return head + "<p>None: every image was readable.</p>"
    rows = [[e["stage"], e.get("image_path") or "(none)", e.get("reason", "")] for e in bad]
    keys = [{"stage": e["stage"], "reason": str(e.get("reason", "")).split(" (")[0]} for e in bad]
    shown = rows[: cfg.bad_rows]
    body = count_line(len(shown), len(rows), "bad inputs") + table(
        ["stage", "image", "reason"], shown, "bad", keys[: cfg.bad_rows]
    )
    return head + filterable(body, ["stage", "reason"], [], "bad-inputs")


def outliers_section(
    context: StageContext, manifest: pd.DataFrame, thumbs: Thumbnails, cfg: ReportConfig
) -> str:
    oc = cfg.outliers
    rows = manifest.drop_duplicates("image_path").to_dict("records")
    measures = measure_all(context.store, [str(r["image_path"]) for r in rows], oc)
    found = []
    for row in rows:
        m = measures.get(str(row["image_path"]))
        if m is None or not flags(m, oc):
            continue
        found.append((severity(m, oc), row, m))
    found.sort(key=lambda item: -item[0])
    items = []
    for score, row, m in found[: cfg.outlier_examples]:
        issues = flags(m, oc)
        text = (
            f"{', '.join(issues)}<br>{m.width}x{m.height} · blur {m.blur:.1f} · std {m.blank:.1f}"
        )
        keys = {
            "issue": issues[0],
            "domain": row.get("domain", ""),
            "class": first_label(row.get(cfg.sample_task)),
            "split": row.get("split", ""),
        }
        items.append(
            f'<div class="item pair"{attrs(keys, {"severity": round(score, 3)})}>'
            f"{thumbs.tag(row['image_path'], str(row.get('source', '')))}<p>{text}</p></div>"
        )
    counts = {
        name: sum(name in flags(m, oc) for _, _, m in found)
        for name in ("tiny", "blurred", "nearly blank", "extreme aspect")
    }
    intro = (
        f"<p>Measured with OpenCV on every image of the version ({len(measures)}), grey, at most "
        f"{oc.measure_side} px: tiny (shorter side &lt; {oc.min_side} px) {counts['tiny']}, "
        f"blurred (variance of the Laplacian &lt; {oc.max_blur:g}) {counts['blurred']}, "
        f"nearly blank (grey std &lt; {oc.max_blank:g}) {counts['nearly blank']}, "
        f"extreme aspect (&gt; {oc.max_aspect:g}:1) {counts['extreme aspect']}. "
        "Most severe first.</p>"
    )
    body = count_line(len(items), len(found), "flagged images")
    return intro + filterable(
        body + gallery(items), ["issue", "domain", "class", "split"], ["severity"], "outliers"
    )

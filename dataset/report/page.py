"""``report.html``: what a maintainer reads before trusting a dataset version.

One self-contained page (charts and thumbnails inline, one small inline script, no
external request): the stages' own figures (every one traceable to ``stages/<stage>.json``
through its ``data-record`` attribute), class counts before and after rebalancing,
coverage, and one gallery per decision of the build (near-duplicate clusters and near
misses, segmentation successes and fallbacks, samples with their labels, outliers, bad
inputs), each saying 'showing N of M', filterable, readable without scripts and on a phone.
Thumbnails are read through the store, so the report is the same for a local or S3 build.
"""

from __future__ import annotations

import logging
import posixpath
from typing import Any

import pandas as pd

from dataset.pipeline.engine import StageContext
from dataset.report.charts import class_count_chart, count_labels
from dataset.report.config import ReportConfig
from dataset.report.duplicates import clusters_gallery, near_miss_gallery
from dataset.report.evaluations import evaluation_pages
from dataset.report.html import cards, esc, record, section, table
from dataset.report.inputs import bad_inputs, bad_inputs_section, outliers_section
from dataset.report.samples import samples_section
from dataset.report.segments import segmentation_section
from dataset.report.style import page
from dataset.report.thumbs import Thumbnails

logger = logging.getLogger(__name__)


def _overview(context: StageContext, manifest: pd.DataFrame, bad: list[dict[str, Any]]) -> str:
    split = context.summary("split")
    rows = split.get("rows", {})
    tiles = [("images in this version", f"<b>{len(manifest)}</b>")]
    if split:
        tiles.append(
            (
                "train / val / test",
                " / ".join(
                    record("split", f"rows.{s}", rows.get(s, 0)) for s in ("train", "val", "test")
                ),
            )
        )
        tiles.append(
            (
                "duplicates dropped",
                record("split", "dropped_duplicates", split.get("dropped_duplicates", 0)),
            )
        )
    rebalance = context.summary("rebalance")
    if rebalance:
        tiles.append(
            ("training draws per epoch", record("rebalance", "draws", rebalance.get("draws", 0)))
        )
    segment = context.summary("segment")
    if segment:
        tiles.append(
            ("segmentation fallbacks", record("segment", "fallback", segment.get("fallback", 0)))
        )
    tiles.append(("bad inputs (all stages)", f'<b class="bad-total">{len(bad)}</b>'))
    stages = []
    for name in context.settings.get("stages", []):
        if name == "report" or not context.has(name):
            continue
        state = context.store.read_json(context.key(f"stages/{name}.json"))
        stages.append([name, state.get("finished_at", "")])
    return cards(tiles) + _evaluations(context) + table(["stage", "finished"], stages, "narrow")


def _evaluations(context: StageContext) -> str:
    """Links to the trainer's evaluation pages of this version (relative, as in the store)."""
    pages = evaluation_pages(context.store, context.prefix)
    if not pages:
        return ""
    links = "".join(
        f'<li><a href="{esc(posixpath.relpath(p.key, context.prefix))}">{esc(p.kind)}: '
        f"{esc(posixpath.dirname(p.key))}</a></li>"
        for p in pages
    )
    return f"<h3>Evaluations of this version</h3><ul>{links}</ul>"


def _class_counts(context: StageContext, manifest: pd.DataFrame) -> str:
    train = manifest[manifest["split"] == "train"] if "split" in manifest else manifest
    rebalance = context.summary("rebalance")
    factors = rebalance.get("factors", {})
    driver = rebalance.get("task", "")
    parts = []
    for name, spec in context.specs.items():
        before = count_labels(train, name, spec.classes)
        after = count_labels(train, name, spec.classes, weights=train.get("repeat"))
        others = {
            split: count_labels(manifest[manifest["split"] == split], name, spec.classes)
            for split in ("val", "test")
            if "split" in manifest
        }
        chart = class_count_chart(name, spec.classes, before, after, others)
        note = " (drives the rebalancing)" if name == driver else ""
        parts.append(f'<div class="chart"><h3>{esc(name)}{esc(note)}</h3>{chart}</div>')
    legend = (
        "<p>Training split before (rows) and after rebalancing (draws per epoch, cap x"
        f"{record('rebalance', 'cap', rebalance.get('cap', '-'))}, "
        f"{record('rebalance', 'rows', rebalance.get('rows', '-'))} rows drawn "
        f"{record('rebalance', 'draws', rebalance.get('draws', '-'))} times); validation and "
        "test are never resampled.</p>"
    )
    if factors:
        chips = "".join(
            f'<span class="chip">{esc(k)} x{record("rebalance", f"factors.{k}", f"{v:g}")}</span>'
            for k, v in sorted(factors.items(), key=lambda kv: -kv[1])
        )
        legend += f'<p>Upsampling per {esc(driver)} class:</p><div class="chips">{chips}</div>'
    return legend + '<div class="charts">' + "".join(parts) + "</div>"


def _coverage(context: StageContext, manifest: pd.DataFrame) -> str:
    rows, empty = [], []
    for name, spec in context.specs.items():
        values = manifest[name] if name in manifest else pd.Series([None] * len(manifest))
        labelled = sum(1 for v in values if v is not None and len(v) > 0)
        counts = count_labels(manifest, name, spec.classes)
        empty += [f"{name}/{cls}" for cls, n in zip(spec.classes, counts, strict=True) if n == 0]
        share = f"{100 * labelled / len(manifest):.1f}%" if len(manifest) else "-"
        rows.append([name, spec.kind, len(spec.classes), labelled, share])
    body = table(["task", "kind", "classes", "labelled images", "coverage"], rows, "narrow")
    if "domain" in manifest and "split" in manifest:
        by = manifest.groupby(["domain", "split"]).size().unstack(fill_value=0)
        body += "<h3>Images per domain and split</h3>" + table(
            ["domain", *by.columns], [[i, *map(int, r)] for i, r in by.iterrows()], "narrow"
        )
    if empty:
        body += '<p class="warn">Empty classes (no image; skipped by rebalancing, weight 1.0): '
        body += ", ".join(esc(e) for e in empty) + "</p>"
    return body


def _absent(stage: str) -> str:
    return f"<p>The {esc(stage)} stage was not part of this build.</p>"


def build_report(context: StageContext) -> tuple[str, dict[str, Any]]:
    """The HTML page and a summary of what it shows."""
    cfg: ReportConfig = context.config
    manifest = context.frame()
    thumbs = Thumbnails(
        context.store, cfg.thumbnail_size, cfg.thumbnail_quality, cfg.thumbnail_budget_kb * 1024
    )
    bad = bad_inputs(context)
    has_dedup, has_segment = context.has("dedup"), context.has("segment")
    sections = [  # (title, nav label, body, anchor)
        ("Overview", "Overview", _overview(context, manifest, bad), "overview"),
        (
            "Classes before and after rebalancing",
            "Classes",
            _class_counts(context, manifest),
            "classes",
        ),
        ("Coverage", "Coverage", _coverage(context, manifest), "coverage"),
        (
            "Near-duplicate clusters",
            "Duplicates",
            clusters_gallery(context, thumbs, cfg) if has_dedup else _absent("dedup"),
            "duplicates",
        ),
        (
            "Near misses (pairs not merged)",
            "Near misses",
            near_miss_gallery(context, thumbs, cfg) if has_dedup else _absent("dedup"),
            "near-misses",
        ),
        (
            "Segmentation",
            "Segmentation",
            segmentation_section(context, thumbs, cfg) if has_segment else _absent("segment"),
            "segmentation",
        ),
        (
            f"Samples per {cfg.sample_task}",
            "Samples",
            samples_section(context, manifest, thumbs, cfg),
            "samples",
        ),
        ("Outliers", "Outliers", outliers_section(context, manifest, thumbs, cfg), "outliers"),
        ("Bad inputs", "Bad inputs", bad_inputs_section(bad, context, cfg), "bad"),
    ]
    name = f"{context.settings.get('name', '')} {context.settings.get('version', '')}"
    html = page(
        f"Dataset report: {name}",
        "Dataset report",
        name,
        [(label, anchor) for _, label, _, anchor in sections],
        "".join(section(title, body, anchor) for title, _, body, anchor in sections),
    )
    summary = {
        "images": len(manifest),
        "bad_inputs": len(bad),
        "bytes": len(html),
        **thumbs.summary(),
    }
    logger.info("report: %s", summary)
    return html, summary

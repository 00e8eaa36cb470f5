"""``report.html``: what a maintainer reads before trusting a dataset version.

One self-contained page (charts and thumbnails embedded as base64): totals and stage
times, class counts per task before and after rebalancing, label coverage and empty
classes, duplicates found (example clusters side by side, cross-source ones flagged),
segmentation before/after, a sample grid per class, and every bad input with its reason.
Thumbnails are read through the store, so the report is the same for a local or S3 build.
"""

from __future__ import annotations

import base64
import html
import io
import logging
from typing import Any

import pandas as pd
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from dataset.pipeline.engine import StageContext
from dataset.report.charts import class_count_chart, count_labels
from dataset.report.style import CSS

logger = logging.getLogger(__name__)


class ReportConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    thumbnail_size: int = Field(112, ge=16, le=512)
    samples_per_class: int = Field(6, ge=0)
    sample_task: str = "type"
    duplicate_examples: int = Field(8, ge=0)
    segmentation_examples: int = Field(6, ge=0)
    seed: int = 0


def _esc(value: Any) -> str:
    return html.escape(str(value))


class Thumbnails:
    """Base64 JPEG thumbnails of store images (a grey tile when one cannot be read)."""

    def __init__(self, context: StageContext, size: int) -> None:
        self.store = context.store
        self.size = size

    def tag(self, key: Any, caption: str = "") -> str:
        uri = self._data_uri(key)
        title = _esc(key)
        img = (
            f'<img src="{uri}" title="{title}" alt="{title}">' if uri else '<div class="na">?</div>'
        )
        cap = f"<figcaption>{_esc(caption)}</figcaption>" if caption else ""
        return f"<figure>{img}{cap}</figure>"

    def _data_uri(self, key: Any) -> str | None:
        if not isinstance(key, str) or not key:
            return None
        try:
            source = Image.open(io.BytesIO(self.store.read_bytes(key)))
            source.draft("RGB", (self.size, self.size))
            image = source.convert("RGB")
            image.thumbnail((self.size, self.size))
        except Exception as exc:  # noqa: BLE001 - a broken thumbnail must not stop the report
            logger.debug("no thumbnail for %s: %s", key, exc)
            return None
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=80)
        return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode()


def _section(title: str, body: str, anchor: str) -> str:
    return f'<section id="{anchor}"><h2>{_esc(title)}</h2>{body}</section>'


def _table(headers: list[str], rows: list[list[Any]], cls: str = "") -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _overview(context: StageContext, manifest: pd.DataFrame, bad: list[dict[str, Any]]) -> str:
    splits = manifest["split"].value_counts() if "split" in manifest else pd.Series(dtype=int)
    dedup = context.summary("split").get("dropped_duplicates", 0)
    cards = [
        ("images", len(manifest)),
        (
            "train / val / test",
            " / ".join(str(int(splits.get(s, 0))) for s in ("train", "val", "test")),
        ),
        (
            "training draws",
            int(manifest.loc[manifest.get("split") == "train", "repeat"].sum())
            if "repeat" in manifest
            else "-",
        ),
        ("duplicates removed", dedup),
        ("bad inputs", len(bad)),
    ]
    tiles = "".join(
        f'<div class="card"><b>{_esc(v)}</b><span>{_esc(k)}</span></div>' for k, v in cards
    )
    rows = []
    for name in context.settings.get("stages", []):
        if name == "report" or not context.has(name):
            continue
        state = context.store.read_json(context.key(f"stages/{name}.json"))
        rows.append([name, state.get("finished_at", "")])
    return f'<div class="cards">{tiles}</div>' + _table(["stage", "finished"], rows, "narrow")


def _class_counts(context: StageContext, manifest: pd.DataFrame) -> str:
    train = manifest[manifest["split"] == "train"] if "split" in manifest else manifest
    factors = context.summary("rebalance").get("factors", {})
    driver = context.summary("rebalance").get("task", "")
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
        parts.append(f'<div class="chart"><h3>{_esc(name)}{_esc(note)}</h3>{chart}</div>')
    legend = (
        "<p>Training split before (rows) and after rebalancing (draws per epoch, "
        f"cap x{_esc(context.summary('rebalance').get('cap', '-'))}); validation and test are never resampled.</p>"
    )
    if factors:
        chips = "".join(
            f'<span class="chip">{_esc(k)} <b>x{v:g}</b></span>'
            for k, v in sorted(factors.items(), key=lambda kv: -kv[1])
        )
        legend += f'<p class="chips">Upsampling per {_esc(driver)} class: {chips}</p>'
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
    body = _table(["task", "kind", "classes", "labelled images", "coverage"], rows, "narrow")
    if "domain" in manifest:
        by = manifest.groupby(["domain", "split"]).size().unstack(fill_value=0)
        body += "<h3>Images per domain and split</h3>" + _table(
            ["domain", *by.columns], [[i, *map(int, r)] for i, r in by.iterrows()], "narrow"
        )
    if empty:
        body += '<p class="warn">Empty classes (no image; skipped by rebalancing, weight 1.0): '
        body += ", ".join(_esc(e) for e in empty) + "</p>"
    return body


def _duplicates(context: StageContext, thumbs: Thumbnails, limit: int) -> str:
    if not context.has("dedup"):
        return "<p>The dedup stage was not part of this build.</p>"
    frame = context.frame("dedup")
    if "dup_cluster" not in frame:
        return "<p>No duplicate clusters recorded.</p>"
    sizes = frame.groupby("dup_cluster")["image_path"].transform("size")
    multi = frame[sizes > 1]
    clusters = list(multi.groupby("dup_cluster", sort=False))
    cross = sum(1 for _, c in clusters if c.get("source", pd.Series()).nunique() > 1)
    body = (
        f"<p>{len(clusters)} clusters of near-duplicates ({len(multi)} images), "
        f"{cross} across sources (a marketplace photo that is also a catalogue photo). "
        "One image per cluster is kept (outlined).</p>"
    )
    rows = []
    for _, cluster in clusters[:limit]:
        figs = []
        for _, row in cluster.head(4).iterrows():
            kept = bool(row.get("dup_keep", False))
            fig = thumbs.tag(
                row["image_path"], f"{row.get('source', '')}{' · kept' if kept else ''}"
            )
            figs.append(fig.replace("<figure>", '<figure class="kept">') if kept else fig)
        rows.append('<div class="pair">' + "".join(figs) + "</div>")
    return body + '<div class="pairs">' + "".join(rows) + "</div>"


def _segmentation(context: StageContext, thumbs: Thumbnails, limit: int) -> str:
    if not context.has("segment"):
        return "<p>The segment stage was not part of this build.</p>"
    frame = context.frame("segment")
    done = (
        frame[frame["segmentation"] == "segmented"] if "segmentation" in frame else frame.iloc[:0]
    )
    body = f"<p>{len(done)} of {len(frame)} images segmented; the others keep the original.</p>"
    if "domain" in done:
        # Shoppers' photos first: the hard case (no studio backdrop), then studio shots.
        user = done[done["domain"] == "user"]
        done = pd.concat([user.head(limit - limit // 3), done[done["domain"] != "user"]])
    pairs = [
        '<div class="pair">'
        + thumbs.tag(row["image_path"], f"before · {row.get('domain') or 'photo'}")
        + thumbs.tag(row["segmented_path"], f"after · box: {row.get('box_source') or '?'}")
        + "</div>"
        for _, row in done.head(limit).iterrows()
    ]
    return body + '<div class="pairs">' + "".join(pairs) + "</div>"


def _samples(
    context: StageContext, manifest: pd.DataFrame, thumbs: Thumbnails, cfg: ReportConfig
) -> str:
    spec = context.specs.get(cfg.sample_task)
    if spec is None or cfg.sample_task not in manifest:
        return f"<p>No task {_esc(cfg.sample_task)!s} in this dataset.</p>"
    blocks = []
    first = manifest[cfg.sample_task].map(lambda v: str(v[0]) if v is not None and len(v) else None)
    for cls in spec.classes:
        rows = manifest[first == cls]
        if rows.empty:
            blocks.append(
                f'<div class="grid"><h3>{_esc(cls)} <small>0 images</small></h3><p class="warn">empty class</p></div>'
            )
            continue
        picked = rows.sample(min(cfg.samples_per_class, len(rows)), random_state=cfg.seed)
        key = "segmented_path" if "segmented_path" in picked else "image_path"
        figs = "".join(
            thumbs.tag(
                r[key] if isinstance(r.get(key), str) else r["image_path"], r.get("split", "")
            )
            for _, r in picked.iterrows()
        )
        blocks.append(
            f'<div class="grid"><h3>{_esc(cls)} <small>{len(rows)} images</small></h3><div class="row">{figs}</div></div>'
        )
    return "".join(blocks)


def _bad_inputs(bad: list[dict[str, Any]]) -> str:
    if not bad:
        return "<p>None: every image was readable.</p>"
    reasons: dict[str, int] = {}
    for entry in bad:
        reason = str(entry["reason"]).split(" (")[0]
        reasons[reason] = reasons.get(reason, 0) + 1
    summary = _table(
        ["reason", "images"],
        [[r, n] for r, n in sorted(reasons.items(), key=lambda kv: -kv[1])],
        "narrow",
    )
    rows = [[e.get("stage", ""), e.get("image_path") or "(none)", e["reason"]] for e in bad]
    return summary + _table(["stage", "image", "reason"], rows, "bad")


def build_report(context: StageContext) -> tuple[str, dict[str, Any]]:
    """The HTML page and a summary of what it shows."""
    cfg: ReportConfig = context.config
    manifest = context.frame()
    thumbs = Thumbnails(context, cfg.thumbnail_size)
    bad = [{**e, "stage": "check"} for e in context.summary("check").get("bad", [])]
    for stage_name in ("dedup", "segment"):  # their own unreadable images, if any got there
        summary = context.summary(stage_name)
        bad += [{**e, "stage": stage_name} for e in summary.get("bad_images", [])]
    bad += [{**e, "stage": "export"} for e in context.summary("export").get("bad", [])]
    name = f"{context.settings.get('name', '')} {context.settings.get('version', '')}"
    sections = [
        ("Overview", _overview(context, manifest, bad), "overview"),
        ("Class counts before and after rebalancing", _class_counts(context, manifest), "classes"),
        ("Coverage", _coverage(context, manifest), "coverage"),
        ("Near-duplicates", _duplicates(context, thumbs, cfg.duplicate_examples), "duplicates"),
        ("Segmentation", _segmentation(context, thumbs, cfg.segmentation_examples), "segmentation"),
        (f"Samples per {cfg.sample_task}", _samples(context, manifest, thumbs, cfg), "samples"),
        ("Bad inputs", _bad_inputs(bad), "bad"),
    ]
    nav = "".join(f'<a href="#{a}">{_esc(t.split(" ")[0])}</a>' for t, _, a in sections)
    page = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Dataset report: {_esc(name)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>Dataset report <span>{_esc(name)}</span></h1><nav>{nav}</nav></header><main>"
        + "".join(_section(t, b, a) for t, b, a in sections)
        + "</main></body></html>"
    )
    return page, {"images": len(manifest), "bad_inputs": len(bad), "bytes": len(page)}

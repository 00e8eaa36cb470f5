"""The near-duplicate galleries: merged clusters and the near misses beside them.

Reads the dedup stage's own records: its summary (``stages/dedup.json``), its rows
(``dup_cluster``, ``dup_keep``) and its pair table (``duplicates.parquet``: method and
scores of every pair it recorded). Columns are read defensively: the scores shown are the
numeric columns the table holds, and a ``decision`` column, when the stage writes one,
says what was done with a pair.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from dataset.pipeline.engine import StageContext
from dataset.report.config import ReportConfig
from dataset.report.html import attrs, count_line, esc, filterable, first_label, gallery, record
from dataset.report.thumbs import Thumbnails

# The first present one orders the pairs: the aligned thumbnails' ``ncc`` where they
# judged the pair, else (the dedup stage leaves them out) the correlation after the warp.
PRIMARY_SCORES = ("score", "ncc", "edge_ncc", "warped_edge_ncc")
NOT_SCORES = {"cross_source", "merged", "confirmed", "dup_cluster"}
MERGED = "clustered"  # the dedup stage's own word for a pair inside one cluster


def _score_columns(pairs: pd.DataFrame) -> list[str]:
    return [
        c for c in pairs.columns if c not in NOT_SCORES and pd.api.types.is_numeric_dtype(pairs[c])
    ]


def _primary(row: dict[str, Any], columns: list[str]) -> float:
    """The pair's ordering score; identical bytes (no score) rank as 1."""
    for column in PRIMARY_SCORES:
        if column in columns:
            value = row.get(column)
            if value is not None and not (isinstance(value, float) and math.isnan(value)):
                return float(value)
    return 1.0


def decision(row: dict[str, Any]) -> str:
    if row.get("decision"):
        return str(row["decision"])
    if row.get("confirmed") is False:
        return "rejected"
    if row.get("merged") is False:
        return "not merged: different products"
    return MERGED


def _scores_text(row: dict[str, Any], columns: list[str]) -> str:
    parts = []
    for column in columns:
        value = row.get(column)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        parts.append(f"{column} {value:.3f}" if isinstance(value, float) else f"{column} {value}")
    return " · ".join(parts) or "identical bytes"


def _name(path: Any) -> str:
    return str(path).rsplit("/", 1)[-1]


def _pair_rows(rows: list[dict[str, Any]], columns: list[str]) -> str:
    lines = "".join(
        f"<li><span>{esc(_name(r['image_path_a']))} ↔ {esc(_name(r['image_path_b']))}</span> "
        f"<span>{esc(r.get('method', ''))}: {esc(_scores_text(r, columns))}</span></li>"
        for r in rows
    )
    return f'<ul class="pairlist">{lines}</ul>'


def _domains(frame: pd.DataFrame) -> str:
    values = sorted({str(v) for v in frame.get("domain", pd.Series(dtype=object)).dropna()})
    return "+".join(values) or "unknown"


def clusters_gallery(context: StageContext, thumbs: Thumbnails, cfg: ReportConfig) -> str:
    summary = context.summary("dedup")
    frame = context.frame("dedup")
    key = context.key("duplicates.parquet")
    pairs = context.store.read_parquet(key) if context.store.exists(key) else pd.DataFrame()
    columns = _score_columns(pairs)
    records = pairs.to_dict("records")
    by_path: dict[str, list[dict[str, Any]]] = {}
    for row in records:
        by_path.setdefault(str(row["image_path_a"]), []).append(row)

    grouped = frame[frame["dup_cluster"] >= 0].drop_duplicates("image_path")
    clusters = [c for _, c in grouped.groupby("dup_cluster") if len(c) > 1]
    items = []
    for cluster in clusters:
        paths = set(cluster["image_path"].astype(str))
        inside = [
            r
            for p in paths
            for r in by_path.get(p, [])
            if str(r["image_path_b"]) in paths and decision(r) == MERGED
        ]
        weakest = min((_primary(r, columns) for r in inside), default=1.0)
        items.append((weakest, cluster, inside))
    items.sort(key=lambda item: (item[0], -len(item[1])))  # weakest merges first

    shown = []
    for weakest, cluster, inside in items[: cfg.duplicate_examples]:
        ordered = cluster.sort_values("dup_keep", ascending=False)
        figs = "".join(
            thumbs.tag(
                r["image_path"],
                f"{r.get('source', '')}{' · kept' if r['dup_keep'] else ' · removed'}",
                "kept" if r["dup_keep"] else "",
            )
            for r in ordered.head(6).to_dict("records")
        )
        keys = {
            "domain": _domains(cluster),
            "class": first_label(ordered.iloc[0].get(cfg.sample_task)),
            "decision": MERGED,
        }
        sorts = {"weakest": round(1 - weakest, 4), "size": len(cluster)}
        head = f"<p>{len(cluster)} photos · weakest pair {weakest:.3f}</p>"
        shown.append(
            f'<div class="item cluster"{attrs(keys, sorts)}>{head}<div class="row">{figs}</div>'
            f"{_pair_rows(inside, columns)}</div>"
        )
    intro = (
        f"<p>The dedup stage verified {record('dedup', 'candidate_pairs', summary.get('candidate_pairs', 0))} "
        f"candidate pairs, confirmed {record('dedup', 'confirmed_pairs', summary.get('confirmed_pairs', 0))} "
        f"({record('dedup', 'identical_bytes_pairs', summary.get('identical_bytes_pairs', 0))} identical bytes), "
        f"formed {record('dedup', 'clusters_with_duplicates', summary.get('clusters_with_duplicates', 0))} "
        f"clusters and removed {record('dedup', 'rows_removed', summary.get('rows_removed', 0))} rows; "
        f"{record('dedup', 'cross_source_pairs', summary.get('cross_source_pairs', 0))} pairs cross sources and "
        f"{record('dedup', 'lookalike_product_pairs', summary.get('lookalike_product_pairs', 0))} "
        "join two different catalogue products (not merged). Clusters are sorted weakest "
        "merge first: the outlined photo is kept, each pair shows its method and scores.</p>"
    )
    total = int(summary.get("clusters_with_duplicates", len(clusters)))
    body = count_line(
        len(shown), total, "clusters", "(all: stages/dedup.parquet, duplicates.parquet)"
    ) + gallery(shown, "gallery wide")
    return intro + filterable(body, ["domain", "class"], ["weakest", "size"], "clusters")


def near_miss_gallery(context: StageContext, thumbs: Thumbnails, cfg: ReportConfig) -> str:
    key = context.key("duplicates.parquet")
    if not context.store.exists(key):
        return "<p>No pair table (duplicates.parquet) in this version.</p>"
    pairs = context.store.read_parquet(key)
    columns = _score_columns(pairs)
    misses = [r for r in pairs.to_dict("records") if decision(r) != MERGED]
    misses.sort(key=lambda r: -_primary(r, columns))  # the closest calls first
    shown = []
    for row in misses[: cfg.near_miss_examples]:
        figs = thumbs.tag(row["image_path_a"], str(row.get("source_a", ""))) + thumbs.tag(
            row["image_path_b"], str(row.get("source_b", ""))
        )
        keys = {"decision": decision(row), "method": row.get("method", "")}
        sorts = {"score": round(_primary(row, columns), 4)}
        text = f"<p>{esc(decision(row))}<br>{esc(_scores_text(row, columns))}</p>"
        shown.append(
            f'<div class="item pair"{attrs(keys, sorts)}><div class="row">{figs}</div>{text}</div>'
        )
    note = (
        "<p>Near misses: pairs the stage recorded but did not merge, highest score first, "
        "to set a threshold against. Candidates rejected by verification are listed only "
        "when the stage records them in duplicates.parquet.</p>"
    )
    body = count_line(len(shown), len(misses), "unmerged pairs in duplicates.parquet")
    return note + filterable(
        body + gallery(shown), ["decision", "method"], ["score"], "near-misses"
    )

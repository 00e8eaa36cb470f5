"""Retrieval evaluation reports: JSON, a bar plot of top-k accuracy, its HTML page, a comparison."""

from __future__ import annotations

import io
from typing import Any

MIN_CATEGORY_QUERIES = 1  # categories shown in the plot need at least this many queries


def compare(current: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
    """Per-k differences (current - previous) overall and per category present in both."""

    def delta(a: dict[str, Any], b: dict[str, Any]) -> dict[str, float | None]:
        out: dict[str, float | None] = {}
        for k, value in a.get("top_k", {}).items():
            old = b.get("top_k", {}).get(k)
            out[k] = None if value is None or old is None else round(value - old, 6)
        return out

    cats_a, cats_b = current.get("per_category", {}), previous.get("per_category", {})
    return {
        "previous_encoder_id": previous.get("encoder_id"),
        "previous_combination": previous.get("combination"),
        "previous_top_k": previous.get("top_k"),
        "delta_top_k": delta(current, previous),
        "delta_per_category": {c: delta(cats_a[c], cats_b[c]) for c in cats_a if c in cats_b},
    }


def _pct(value: float | None) -> float:
    return 0.0 if value is None else 100.0 * value


def plot_report(report: dict[str, Any], previous: dict[str, Any] | None = None) -> bytes:
    """PNG: overall top-k (with the previous report's bars beside it) and per category."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ks = list(report["top_k"])
    cats = [
        c
        for c, r in report.get("per_category", {}).items()
        if r["evaluated"] >= MIN_CATEGORY_QUERIES
    ]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.8), gridspec_kw={"width_ratios": [1, 2.2]})
    x = range(len(ks))
    width = 0.38 if previous else 0.6
    bars = ax1.bar(
        [i - (width / 2 if previous else 0) for i in x],
        [_pct(report["top_k"][k]) for k in ks],
        width,
        label=f"this run ({str(report.get('encoder_id', ''))[:10]})",
        color="#3b6fb6",
    )
    ax1.bar_label(bars, fmt="%.1f", fontsize=8)
    if previous:
        old = ax1.bar(
            [i + width / 2 for i in x],
            [_pct(previous.get("top_k", {}).get(k)) for k in ks],
            width,
            label=f"previous ({str(previous.get('encoder_id', ''))[:10]})",
            color="#b0b0b0",
        )
        ax1.bar_label(old, fmt="%.1f", fontsize=8)
    ax1.set_xticks(list(x), [f"top-{k}" for k in ks])
    ax1.set_ylim(0, 119)
    ax1.set_ylabel("queries with a match in the top k (%)")
    ax1.set_title(f"overall ({report['evaluated']} queries)")
    ax1.legend(fontsize=8, loc="upper center", ncols=2)

    n = max(1, len(ks))
    step = 0.8 / n
    for j, k in enumerate(ks):
        ax2.bar(
            [i + j * step for i in range(len(cats))],
            [_pct(report["per_category"][c]["top_k"][k]) for c in cats],
            step,
            label=f"top-{k}",
        )
    ax2.set_xticks(
        [i + step * (n - 1) / 2 for i in range(len(cats))],
        [f"{c}\n({report['per_category'][c]['evaluated']})" for c in cats],
        rotation=30,
        ha="right",
        fontsize=8,
    )
    ax2.set_ylim(0, 119)
    ax2.set_title("per category (queries)")
    ax2.legend(fontsize=8, ncols=n, loc="upper center")
    from dataset.report.figures import short_name

    # The source's last two segments (e.g. demo/v1): never the folders of the machine.
    fig.suptitle(
        f"street-to-shop retrieval: {short_name(str(report.get('source', '')))}", fontsize=10
    )
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()


def retrieval_page(report: dict[str, Any], topk_png: bytes, link: str | None) -> str:
    """The top-k figure and the per-category table on one page, in the report's style."""
    from dataset.report.figures import figures_page, png_figure, short_name
    from dataset.report.html import table

    ks = list(report["top_k"])
    rows = [["all", report["evaluated"], *(f"{_pct(report['top_k'][k]):.1f}" for k in ks)]]
    rows += [
        [cat, r["evaluated"], *(f"{_pct(r['top_k'].get(k)):.1f}" for k in ks)]
        for cat, r in report.get("per_category", {}).items()
    ]
    sections = [
        ("Top-k accuracy", png_figure(topk_png, "top-k accuracy, overall and per category")),
        ("Per category (%)", table(["category", "queries", *(f"top-{k}" for k in ks)], rows)),
    ]
    subtitle = f"{short_name(str(report.get('source', '')))} · encoder {str(report.get('encoder_id', ''))[:10]}"
    return figures_page("Street-to-shop retrieval", subtitle, sections, link)


def _embedding_note(report: dict[str, Any]) -> str:
    tasks = report.get("combination", {}).get("tasks", [])
    return "  (pair-trained embedding)" if tasks == ["retrieval"] else "  (task encodings)"


def summary_text(report: dict[str, Any]) -> str:
    ks = report["top_k"]
    line = "  ".join(f"top-{k} {_pct(v):5.1f}%" for k, v in ks.items())
    lines = [
        f"{report['evaluated']} queries against {report['gallery']} gallery images: {line}"
        + _embedding_note(report),
        f"skipped: {report['skipped']}  no gallery match: {report['no_gallery_match']} "
        f"({report['unmatched']})",
    ]
    if "chance_top_k" in report:
        odds = "  ".join(f"top-{k} {_pct(v):5.1f}%" for k, v in report["chance_top_k"].items())
        lines.insert(1, f"  chance (a random ranking of the same gallery): {odds}")
    for cat, r in report.get("per_category", {}).items():
        cells = "  ".join(f"{_pct(v):5.1f}" for v in r["top_k"].values())
        lines.append(f"  {cat:<24} {r['evaluated']:>6}  {cells}")
    if "comparison" in report:
        deltas = report["comparison"]["delta_top_k"]
        earlier = {"combination": report["comparison"].get("previous_combination") or {}}
        lines.append(
            f"vs previous {_embedding_note(earlier).strip()}: "
            + "  ".join(
                f"top-{k} {'n/a' if d is None else f'{100 * d:+.1f}'}" for k, d in deltas.items()
            )
        )
    return "\n".join(lines)

"""One HTML page of figures in the report's style, for the trainer's evaluations.

``s2s-train evaluate`` and ``s2s-train eval-retrieval`` write their figures (PNG bytes)
into such a page beside their JSON, so a maintainer reads a model's evaluation the way
they read the dataset report, and follows a link to the report of the dataset version.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence

from dataset.core.store import Store, open_store
from dataset.report.html import esc, section
from dataset.report.style import page


def png_figure(data: bytes, caption: str) -> str:
    uri = "data:image/png;base64," + base64.b64encode(data).decode()
    return (
        f'<figure class="figure"><img class="plot" src="{uri}" alt="{esc(caption)}">'
        f"<figcaption>{esc(caption)}</figcaption></figure>"
    )


def short_name(uri: str, parts: int = 2) -> str:
    """The last ``parts`` segments of a path or URI: what a figure may name, never the
    machine's folders (``/home/ana/data/datasets/demo/v1`` -> ``demo/v1``)."""
    segments = [s for s in uri.replace("\\", "/").rstrip("/").split("/") if s]
    if segments and segments[-1].endswith(".parquet"):
        segments = segments[:-1]
    return "/".join(segments[-parts:])


def report_link(dataset_uri: str, page_store: Store, page_key: str) -> str | None:
    """A relative link from the page at ``page_key`` of ``page_store`` to the dataset
    version's ``report.html``, when both are local folders and the report exists."""
    folder = (
        dataset_uri[: -len("manifest.parquet")] if dataset_uri.endswith(".parquet") else dataset_uri
    )
    try:
        dataset = open_store(folder.rstrip("/") or ".")
        target, here = dataset.local_path("report.html"), page_store.local_path(page_key)
    except Exception:  # noqa: BLE001 - no link is the answer for anything unreadable
        return None
    if target is None or here is None or not target.exists():
        return None
    return os.path.relpath(target, here.parent).replace(os.sep, "/")


def figures_page(
    title: str, subtitle: str, sections: Sequence[tuple[str, str]], link: str | None
) -> str:
    """``sections``: (title, HTML body); ``link``: relative href of the dataset report."""
    anchors = [(name, f"s{i}") for i, (name, _) in enumerate(sections)]
    body = "".join(
        section(name, html, anchor)
        for (name, html), (_, anchor) in zip(sections, anchors, strict=True)
    )
    if link:
        body = (
            f'<p class="count"><a href="{esc(link)}">Report of the dataset version</a></p>' + body
        )
    return page(title, title, subtitle, anchors, body)

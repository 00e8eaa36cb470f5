"""HTML pieces of the report pages: escaping, sections, tables, galleries and filters.

Every figure that comes from a stage record is written as ``<b data-record="stage.key">``
so a reader (and the tests) can trace it back to ``stages/<stage>.json``. Items that a
reader may filter carry ``data-k-<field>`` attributes and items that may be sorted carry
``data-s-<field>``; the inline script (:mod:`dataset.report.script`) reads only those.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any


def esc(value: Any) -> str:
    return html.escape(str(value))


def record(stage: str, key: str, value: Any) -> str:
    """A figure read from ``stages/<stage>.json`` (``key``: a dotted path in its summary)."""
    return f'<b data-record="{esc(stage)}.{esc(key)}">{esc(value)}</b>'


def attrs(keys: Mapping[str, Any] | None = None, sorts: Mapping[str, Any] | None = None) -> str:
    """``data-k-*`` (filter) and ``data-s-*`` (sort) attributes of one item."""
    parts = [f' data-k-{esc(k)}="{esc(v)}"' for k, v in (keys or {}).items()]
    parts += [f' data-s-{esc(k)}="{esc(v)}"' for k, v in (sorts or {}).items()]
    return "".join(parts)


def first_label(cell: Any) -> str:
    """The first label of a list cell (the class a gallery filters by), '' when none."""
    if cell is None or isinstance(cell, float):  # absent, or NaN from parquet
        return ""
    if isinstance(cell, str):
        return cell
    values = list(cell)
    return str(values[0]) if values else ""


def section(title: str, body: str, anchor: str) -> str:
    return f'<section id="{anchor}"><h2>{esc(title)}</h2>{body}</section>'


def cards(items: Sequence[tuple[str, str]]) -> str:
    """Headline tiles: (label, value HTML: already escaped, usually a :func:`record`)."""
    tiles = "".join(
        f'<div class="card">{value}<span>{esc(label)}</span></div>' for label, value in items
    )
    return f'<div class="cards">{tiles}</div>'


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    cls: str = "",
    row_keys: Sequence[Mapping[str, Any]] | None = None,
    raw: bool = False,
) -> str:
    """A table that scrolls inside its own box on a narrow screen (never the page).

    ``row_keys``: filter fields per row; ``raw``: cells are HTML already escaped."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    lines = []
    for i, row in enumerate(rows):
        cells = "".join(f"<td>{c if raw else esc(c)}</td>" for c in row)
        extra = attrs(row_keys[i]) if row_keys else ""
        lines.append(f'<tr class="item"{extra}>{cells}</tr>')
    return (
        f'<div class="scroll"><table class="sortable {cls}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(lines)}</tbody></table></div>"
    )


def count_line(shown: int, total: int, what: str, note: str = "") -> str:
    """'showing N of M <what>': N items on the page, M decisions in the stage records."""
    tail = f" {esc(note)}" if note else ""
    return (
        f'<p class="count">showing <b class="shown" data-embedded="{shown}">{shown}</b> of '
        f'<b class="total">{total}</b> {esc(what)}{tail}</p>'
    )


def filterable(
    body: str,
    filters: Sequence[str],
    sorts: Sequence[str] = (),
    name: str = "",
) -> str:
    """A block whose ``.item`` children the script filters by ``filters`` and sorts by
    ``sorts``; the controls are built by the script, so a page without scripts shows none."""
    data = f' data-filters="{esc(",".join(filters))}" data-sorts="{esc(",".join(sorts))}"'
    return f'<div class="filterable" data-name="{esc(name)}"{data}>{body}</div>'


def gallery(items: Sequence[str], cls: str = "gallery") -> str:
    return f'<div class="{cls}">{"".join(items)}</div>'


def labels_list(pairs: Sequence[tuple[str, str, str]]) -> str:
    """Per task: house labels and the raw value they came from, as a definition list."""
    rows = "".join(
        f"<dt>{esc(task)}</dt><dd>{esc(house) or '&ndash;'}"
        + (f' <span class="raw">from {esc(raw)}</span>' if raw else "")
        + "</dd>"
        for task, house, raw in pairs
    )
    return f'<dl class="labels">{rows}</dl>'

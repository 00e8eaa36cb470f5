"""The mapping table files of a site, as ``new-site`` writes them and ``unmapped`` shows them.

A new file extends the shared tables and lists the values still to map as commented
lines, the least certain first, each with its suggestion, confidence and reason::

    # Colours as shop writes them -> house colour ids (written by `s2s-dataset new-site`).
    extends: [_common]   # the shared French and English words; `extends: []` opts out
    values:
      # Uncomment a line to accept it; replace ??? with a house label, a list or ignore.
      # Rose gold: ???  # none, 3 listings: its words disagree: ...
      # Pistache: green  # high, 12 listings: colour name 'pistache' is green

A line still reading ``???`` once uncommented fails ``map`` (with every such line listed).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from dataset.core.store import open_store
from dataset.mapping.tables import COMMON, IGNORE, UNRESOLVED

_HEADER = (
    "# {task} values as {site} writes them -> house {task} ids "
    "(written by `s2s-dataset new-site`).\n"
    f"extends: [{COMMON}]   # the shared French and English words; `extends: []` opts out\n"
    "values:\n"
)
_HINT = "  # Uncomment a line to accept it; replace ??? with a house label, a list or ignore.\n"
_COVERED = "  # Every value seen so far is covered by the shared tables.\n"
_NOT_READ = "  # Add the site's values here; `s2s-dataset unmapped` lists those still to map.\n"


def yaml_key(raw: str) -> str:
    """``raw`` as a YAML mapping key that reads back as the same string."""
    try:
        plain = yaml.safe_load(f"{raw}: x")
    except yaml.YAMLError:
        plain = None
    if isinstance(plain, dict) and list(plain) == [raw]:
        return raw
    return json.dumps(raw, ensure_ascii=False)


def labels_yaml(labels: list[str] | tuple[str, ...] | None) -> str:
    if labels is None:
        return UNRESOLVED
    if not labels:
        return IGNORE
    return labels[0] if len(labels) == 1 else f"[{', '.join(labels)}]"


def value_line(row: dict[str, Any]) -> str:
    """One table line for an unmapped value: ``Raw: label  # confidence, listings: reason``."""
    listings = f"{row['listings']} listing{'s' if row['listings'] != 1 else ''}"
    return (
        f"{yaml_key(row['write_as'])}: {labels_yaml(row['labels'])}  "
        f"# {row['confidence']}, {listings}: {row['reason']}"
    )


def table_text(site: str, task: str, rows: Iterable[dict[str, Any]] | None) -> str:
    """The content of a new ``<site>/<task>.yaml``: the header and commented value lines.

    ``rows``: the task's unmapped values, or None when no listing was read.
    """
    lines = [f"  # {value_line(row)}\n" for row in rows or []]
    body = _HINT + "".join(lines) if lines else _COVERED if rows is not None else _NOT_READ
    return _HEADER.format(site=site, task=task) + body


def write_tables(
    root: Path, site: str, tasks: Iterable[str], rows: list[dict[str, Any]] | None
) -> dict[str, str]:
    """Write ``<root>/<site>/<task>.yaml`` for each task that has none; existing files are kept.

    ``rows``: the unmapped values (None: no listing was read). Returns
    ``{path: "written" | "kept"}``. Each write is atomic.
    """
    store = open_store(root)
    done: dict[str, str] = {}
    for task in tasks:
        key = f"{site}/{task}.yaml"
        path = str(root / key)
        if store.exists(key):
            done[path] = "kept"
            continue
        own = None if rows is None else [row for row in rows if row["task"] == task]
        store.write_text(key, table_text(site, task, own))
        done[path] = "written"
    return done

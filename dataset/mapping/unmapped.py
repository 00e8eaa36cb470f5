"""Every raw value the mapping tables do not cover, least certain first, with a suggestion.

Entry point :func:`unmapped_values` (``s2s-dataset unmapped`` formats it)::

    frame, summary = unmapped_values(open_store("./data"), "demo", MapConfig())

``frame`` has one row per (task, normalised value): ``task``, ``value``, ``write_as``
(the spelling to write in the table), ``listings`` (how many listings it affects),
``share``, ``raw_examples``, ``example_urls``, ``suggestion`` (house labels, ``ignore`` or
``???``), ``labels`` (the same as a list, None for ``???``), ``confidence`` (``none``,
``low``, ``high``), ``reason`` and ``table`` (the file to edit, ``table_exists``). Rows
are sorted by confidence, lowest first, then by listings affected.

The command saves the summary and that list in the store at :func:`summary_key`
(``raw/<site>/unmapped-summary.json``), next to the listing records it describes: the
command's own output goes to stdout, and this keeps the last coverage figures of each
site where the next maintainer (or a script) finds them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from dataset.core.store import Store
from dataset.mapping.marketplace import (
    LabelledListings,
    MapConfig,
    coverage,
    label_listings,
    overrides,
)
from dataset.mapping.normalise import normalise
from dataset.mapping.suggest import CONFIDENCE_ORDER, Suggester, slug_words
from dataset.mapping.tables import COMMON, MAPPINGS_ROOT, load_table

EXAMPLES = 3
COLUMNS = [
    "task",
    "value",
    "write_as",
    "listings",
    "share",
    "raw_examples",
    "example_urls",
    "suggestion",
    "labels",
    "confidence",
    "reason",
    "table",
    "table_exists",
]


def summary_key(site: str) -> str:
    """Store key of the saved ``unmapped`` report of ``site``."""
    return f"raw/{site}/unmapped-summary.json"


def _suggesters(labelled: LabelledListings, root: Path) -> dict[str, Suggester]:
    taxonomy = labelled.taxonomy
    in_slugs = slug_words(labelled.tables)
    return {
        name: Suggester(
            name,
            taxonomy.tasks[name],
            labelled.tables[name],
            load_table(COMMON, name, taxonomy, root),
            in_slugs,
        )
        for name in labelled.results
    }


def _write_as(value: str, raw_examples: list[str]) -> str:
    """The site's own spelling when one raw example is exactly this value, else the key."""
    return next((raw for raw in raw_examples if normalise(raw) == value), value)


def unmapped_values(
    store: Store, site: str, config: MapConfig
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The unmapped values of ``site`` per task, least certain suggestion first."""
    labelled = label_listings(store, site, config)
    urls = labelled.listings["url"].astype(str).to_numpy()
    total = len(labelled.listings)
    root = Path(config.tables) if config.tables else MAPPINGS_ROOT
    suggesters = _suggesters(labelled, root)
    rows: list[dict[str, Any]] = []
    for task_name, result in labelled.results.items():
        table_path = root / site / f"{task_name}.yaml"
        for item in result.unmapped:
            hint = suggesters[task_name].suggest(item.value)
            rows.append(
                {
                    "task": task_name,
                    "value": item.value,
                    "write_as": _write_as(item.value, item.raw_examples),
                    "listings": len(item.rows),
                    "share": round(len(item.rows) / total, 4) if total else 0.0,
                    "raw_examples": item.raw_examples,
                    "example_urls": [str(url) for url in urls[item.rows[:EXAMPLES]]],
                    "suggestion": hint.label_text,
                    "labels": list(hint.labels) if hint.labels is not None else None,
                    "confidence": hint.confidence,
                    "reason": hint.reason,
                    "table": str(table_path),
                    "table_exists": table_path.is_file(),
                }
            )
    frame = pd.DataFrame(rows, columns=COLUMNS)
    if len(frame):
        frame = frame.assign(_rank=frame["confidence"].map(CONFIDENCE_ORDER))
        frame = frame.sort_values(
            ["_rank", "listings", "task", "value"], ascending=[True, False, True, True]
        ).drop(columns="_rank")
    missing = [task for task in labelled.results if not (root / site / f"{task}.yaml").is_file()]
    summary = {
        "stage": "unmapped",
        "site": site,
        "listings_in": total,
        "read": labelled.read.as_dict() if labelled.read else None,
        "coverage": coverage(labelled),
        "overrides": overrides(labelled),
        "tables_missing": missing,
        "unmapped_values": len(frame),
        "confident_suggestions": int((frame["confidence"] == "high").sum()) if len(frame) else 0,
    }
    return frame.reset_index(drop=True), summary

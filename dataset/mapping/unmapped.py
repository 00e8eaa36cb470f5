"""Every raw value the mapping tables do not cover, worst first, with a suggested label.

Entry point :func:`unmapped_values` (``s2s-dataset unmapped`` formats it)::

    frame, summary = unmapped_values(open_store("./data"), "demo", MapConfig())

``frame`` has one row per (task, normalised value): ``task``, ``value``, ``listings``
(how many listings it affects), ``share``, ``raw_examples``, ``example_urls``,
``suggestion`` (house labels, or ``ignore``), ``reason`` and ``table`` (the file to edit).

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
from dataset.mapping.marketplace import MapConfig, coverage, label_listings
from dataset.mapping.suggest import suggest
from dataset.mapping.tables import MAPPINGS_ROOT

EXAMPLES = 3


def summary_key(site: str) -> str:
    """Store key of the saved ``unmapped`` report of ``site``."""
    return f"raw/{site}/unmapped-summary.json"


def unmapped_values(
    store: Store, site: str, config: MapConfig
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The unmapped values of ``site`` per task, sorted by listings affected."""
    labelled = label_listings(store, site, config)
    urls = labelled.listings["url"].astype(str).to_numpy()
    total = len(labelled.listings)
    root = Path(config.tables) if config.tables else MAPPINGS_ROOT
    rows: list[dict[str, Any]] = []
    for task_name, result in labelled.results.items():
        task = labelled.taxonomy.tasks[task_name]
        table = labelled.tables[task_name]
        for item in result.unmapped:
            hint = suggest(item.value, task_name, task, table)
            rows.append(
                {
                    "task": task_name,
                    "value": item.value,
                    "listings": len(item.rows),
                    "share": round(len(item.rows) / total, 4) if total else 0.0,
                    "raw_examples": item.raw_examples,
                    "example_urls": [str(url) for url in urls[item.rows[:EXAMPLES]]],
                    "suggestion": hint.label_text if hint else None,
                    "reason": hint.reason if hint else "no close word or colour name",
                    "table": str(root / site / f"{task_name}.yaml"),
                }
            )
    frame = pd.DataFrame(
        rows,
        columns=[
            "task",
            "value",
            "listings",
            "share",
            "raw_examples",
            "example_urls",
            "suggestion",
            "reason",
            "table",
        ],
    )
    if len(frame):
        frame = frame.sort_values(["listings", "task", "value"], ascending=[False, True, True])
    summary = {
        "stage": "unmapped",
        "site": site,
        "listings_in": total,
        "read": labelled.read.as_dict() if labelled.read else None,
        "coverage": coverage(labelled),
        "unmapped_values": len(frame),
    }
    return frame.reset_index(drop=True), summary

"""Map a marketplace's raw labels onto the house taxonomy: the ``map`` stage.

Entry point :func:`map_listings` (``s2s-dataset map`` is a thin wrapper)::

    table, summary = map_listings(open_store("./data"), "demo", MapConfig())

``table`` has one row per stored listing photo: ``image_path``, ``source``
(``marketplace``), ``domain`` (``user``), ``site``, ``item_id``, ``url``, ``category``,
the raw labels (``raw_colors``, ``raw_materials``, ``raw_gender``), one list column per
taxonomy task (``colour``, ``material``, ``gender``, ``type``), ``brand``, ``price``,
``currency``, ``fetched_at``. Listings whose type cannot be mapped are left out and counted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from dataset.core.store import Store
from dataset.mapping.listings import ReadReport, read_listings
from dataset.mapping.mapper import ColumnResult, map_column
from dataset.mapping.tables import MappingTable, load_tables
from dataset.taxonomy.schema import Taxonomy, load_taxonomy

logger = logging.getLogger(__name__)

DEFAULT_FIELDS = {
    "colour": "colors",
    "material": "materials",
    "gender": "gender",
    "type": "category",
}
TYPE_TASK = "type"


class MapConfig(BaseModel):
    """Options of the map stage (all optional: the shipped taxonomy and tables by default)."""

    model_config = ConfigDict(extra="forbid")

    tables: str | None = Field(None, description="mapping tables folder (default: shipped)")
    taxonomy: str | None = Field(None, description="taxonomy YAML (default: house taxonomy)")
    fields: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_FIELDS),
        description="taxonomy task -> listing record field holding its raw value",
    )
    progress: bool = False


@dataclass
class LabelledListings:
    """One row per listing with its house labels, before the per-image expansion."""

    site: str
    taxonomy: Taxonomy
    tables: dict[str, MappingTable]
    listings: pd.DataFrame
    results: dict[str, ColumnResult]
    read: ReadReport | None = None


def label_frame(
    listings: pd.DataFrame,
    site: str,
    taxonomy: Taxonomy,
    tables: dict[str, MappingTable],
    fields: dict[str, str] | None = None,
) -> LabelledListings:
    """Apply the tables to a frame of listing records (one row each); adds one column per task."""
    fields = dict(fields or DEFAULT_FIELDS)
    # A raw field named like a task (the record's "gender") keeps its raw value as raw_<name>.
    clashing = [name for name in taxonomy.tasks if name in listings.columns]
    listings = listings.rename(columns={name: f"raw_{name}" for name in clashing})
    fields = {
        task: f"raw_{column}" if column in clashing else column for task, column in fields.items()
    }
    results: dict[str, ColumnResult] = {}
    for task_name, task in taxonomy.tasks.items():
        column = fields.get(task_name, task_name)
        cells = listings[column] if column in listings else pd.Series([None] * len(listings))
        results[task_name] = map_column(cells, tables[task_name], task)
        listings[task_name] = results[task_name].labels
    return LabelledListings(site, taxonomy, tables, listings, results)


def label_listings(store: Store, site: str, config: MapConfig) -> LabelledListings:
    """Read every listing record of ``site`` and label it (used by ``map`` and ``unmapped``)."""
    taxonomy = load_taxonomy(config.taxonomy)
    tables = load_tables(site, taxonomy, config.tables)
    listings, report = read_listings(store, site, progress=config.progress)
    labelled = label_frame(listings, site, taxonomy, tables, config.fields)
    labelled.read = report
    return labelled


def overrides(labelled: LabelledListings) -> list[str]:
    """One line per site entry that contradicts a shared table (allowed, never silent)."""
    return [
        f"{task}: {override.describe()}"
        for task, table in labelled.tables.items()
        for override in table.overrides
    ]


def coverage(labelled: LabelledListings) -> dict[str, dict[str, Any]]:
    """Per task: listings showing a value, listings fully mapped, distinct and unmapped values."""
    total = len(labelled.listings)
    out: dict[str, dict[str, Any]] = {}
    for task_name, result in labelled.results.items():
        with_value = int(result.has_value.sum())
        mapped = int((result.has_value & result.complete).sum())
        out[task_name] = {
            "listings_with_value": with_value,
            "share_with_value": round(with_value / total, 4) if total else 0.0,
            "listings_mapped": mapped,
            "coverage": round(mapped / with_value, 4) if with_value else 1.0,
            "distinct_raw_values": result.distinct_values,
            "unmapped_values": len(result.unmapped),
            "top_unmapped": [item.value for item in result.unmapped[:10]],
        }
    return out


def _text(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame:
        return np.full(len(frame), None, dtype=object)
    return frame[column].astype(object).where(frame[column].notna(), None).to_numpy()


def _string_lists(frame: pd.DataFrame, column: str) -> np.ndarray:
    values = _text(frame, column)
    out = np.empty(len(values), dtype=object)
    for position, cell in enumerate(values):
        if cell is None:
            out[position] = []
        elif isinstance(cell, list | tuple | np.ndarray):
            out[position] = [str(item) for item in cell if item is not None]
        else:
            out[position] = [str(cell)]
    return out


def _prices(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    cells = _text(frame, "price")
    amount = [cell.get("amount") if isinstance(cell, dict) else None for cell in cells]
    currency = [cell.get("currency") if isinstance(cell, dict) else None for cell in cells]
    parsed = pd.to_numeric(
        pd.Series(amount, dtype=object).astype(str).str.replace(",", ".", regex=False),
        errors="coerce",
    )
    return parsed.to_numpy(dtype=float), np.array(currency, dtype=object)


def image_rows(labelled: LabelledListings) -> pd.DataFrame:
    """The training table: one row per stored photo of each listing with a house type."""
    frame = labelled.listings
    tasks = list(labelled.taxonomy.tasks)
    price, currency = _prices(frame)
    paths: list[list[str]] = [
        [image["path"] for image in images if isinstance(image, dict) and image.get("path")]
        for images in frame["images"]
    ]
    counts = np.fromiter((len(p) for p in paths), dtype=np.int64, count=len(paths))
    keep = counts > 0
    if TYPE_TASK in labelled.results:
        keep &= np.fromiter((bool(t) for t in frame[TYPE_TASK]), dtype=bool, count=len(frame))
    repeat = np.where(keep, counts, 0)
    take = np.repeat(np.arange(len(frame)), repeat)
    columns: dict[str, Any] = {
        "image_path": [path for p, k in zip(paths, keep, strict=True) if k for path in p],
        "source": "marketplace",
        "domain": "user",
        "site": labelled.site,
        "item_id": frame["item_id"].astype(str).to_numpy()[take],
        "url": _text(frame, "url")[take],
        "category": _text(frame, "category")[take],
        "title": _text(frame, "title")[take],
        "raw_colors": _string_lists(frame, "colors")[take],
        "raw_materials": _string_lists(frame, "materials")[take],
        "raw_gender": _text(frame, "raw_gender" if "raw_gender" in frame else "gender")[take],
    }
    for task in tasks:
        columns[task] = frame[task].to_numpy()[take]
    columns["brand"] = _text(frame, "brand")[take]
    columns["price"] = price[take]
    columns["currency"] = currency[take]
    columns["fetched_at"] = frame["fetched_at"].to_numpy()[take]
    table = pd.DataFrame(columns)
    for name in ("raw_gender", "brand", "title", "url", "category", "currency"):
        table[name] = table[name].astype(object)
    return table


def summarise(labelled: LabelledListings, table: pd.DataFrame) -> dict[str, Any]:
    """The ``map`` summary: rows in and out, coverage per task, what was left out and why."""
    frame = labelled.listings
    has_images = np.fromiter(
        (any(isinstance(i, dict) and i.get("path") for i in images) for images in frame["images"]),
        dtype=bool,
        count=len(frame),
    )
    excluded: dict[str, int] = {"no_stored_image": int((~has_images).sum())}
    if TYPE_TASK in labelled.results:
        result = labelled.results[TYPE_TASK]
        no_type = np.fromiter((not t for t in frame[TYPE_TASK]), dtype=bool, count=len(frame))
        unmapped = no_type & result.has_value & ~result.complete
        excluded["type_unmapped"] = int((unmapped & has_images).sum())
        excluded["type_ignored"] = int((no_type & ~unmapped & result.has_value & has_images).sum())
        excluded["type_missing"] = int((no_type & ~result.has_value & has_images).sum())
    return {
        "stage": "map",
        "site": labelled.site,
        "taxonomy_version": labelled.taxonomy.version,
        "tables": {task: table_.files for task, table_ in labelled.tables.items()},
        "overrides": overrides(labelled),
        "read": labelled.read.as_dict() if labelled.read else None,
        "listings_in": len(frame),
        "listings_out": int(table["item_id"].nunique()) if len(table) else 0,
        "rows_out": len(table),
        "excluded_listings": excluded,
        "coverage": coverage(labelled),
        "fully_mapped": all(not r.unmapped for r in labelled.results.values()),
    }


def map_listings(store: Store, site: str, config: MapConfig) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Label every listing of ``site`` in ``store``: ``(one row per image, summary)``."""
    labelled = label_listings(store, site, config)
    table = image_rows(labelled)
    return table, summarise(labelled, table)

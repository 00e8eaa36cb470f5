"""Merge the house catalogue export with the marketplace table into one manifest.

Entry point :func:`merge_catalogue` (``s2s-dataset merge-catalogue`` reads the files)::

    manifest, summary = merge_catalogue(export, codes, taxonomy, MergeConfig(),
                                        marketplace=labelled, pairs=pairs)

The export has one row per product: a product id, up to five image views (the first
``views`` are kept: the others are backs and close-ups), optionally customers' photos of
the product (``shopper_photos`` columns: rows of domain ``user`` whose ``pair_id`` is the
product, street-to-shop queries with a known match), colour ids, material ids, a gender id
(cells may hold several ids, ``"9,17"``) and a fine product type. The manifest
has one row per image (docs/architecture.md): ``image_path``, ``source``, ``domain``,
``site``, ``item_id``, ``product_id``, one list column per task, ``pair_id``.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from dataset.catalogue.codes import CodeTable, code_key
from dataset.core.errors import UserError
from dataset.taxonomy.schema import Taxonomy

_ID_SEPARATORS = re.compile(r"[,;|/]")
TYPE_TASK = "type"
MANIFEST_COLUMNS = ["image_path", "source", "domain", "site", "item_id", "product_id"]


class ExportColumns(BaseModel):
    """Column names of the catalogue export."""

    model_config = ConfigDict(extra="forbid")

    product_id: str = "product_id"
    views: list[str] = Field(default_factory=lambda: [f"view_{n}" for n in range(1, 6)])
    shopper_photos: list[str] = Field(
        default_factory=lambda: [f"shopper_{n}" for n in range(1, 4)],
        description="columns of customers' photos of the product (absent columns: none)",
    )
    tasks: dict[str, str] = Field(
        default_factory=lambda: {
            "colour": "colour_ids",
            "material": "material_ids",
            "gender": "gender_id",
            "type": "product_type",
        },
        description="taxonomy task -> export column holding its codes",
    )


class MergeConfig(BaseModel):
    """Options of the catalogue merge."""

    model_config = ConfigDict(extra="forbid")

    views: int = Field(2, ge=1, le=5, description="image views kept per product, from the first")
    image_prefix: str = Field("", description="prepended to view cells to make store keys")
    columns: ExportColumns = Field(default_factory=ExportColumns)


def split_codes(cell: object, task: str) -> list[str]:
    """The codes of one export cell: ``"9,17"`` -> ``["9", "17"]``; blank -> ``[]``."""
    if cell is None or (isinstance(cell, float) and np.isnan(cell)):
        return []
    if isinstance(cell, list | tuple | np.ndarray):
        return [code_key(task, item) for item in cell]
    if task == TYPE_TASK:
        key = code_key(task, cell)
        return [key] if key else []
    return [code_key(task, part) for part in _ID_SEPARATORS.split(str(cell)) if part.strip()]


def _check_columns(export: pd.DataFrame, config: MergeConfig, source: str) -> None:
    cols = config.columns
    needed = [cols.product_id, cols.views[0], *cols.tasks.values()]
    missing = [name for name in needed if name not in export.columns]
    if missing:
        raise UserError(
            f"{source}: missing column(s) {', '.join(missing)}. "
            f"Received columns: {', '.join(map(str, export.columns))}"
        )


def catalogue_rows(
    export: pd.DataFrame, codes: CodeTable, taxonomy: Taxonomy, config: MergeConfig, source: str
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """One manifest row per kept view of each product with a known type, and the counts."""
    _check_columns(export, config, source)
    cols = config.columns
    unknown: dict[str, Counter[str]] = {task: Counter() for task in taxonomy.tasks}
    labelled: dict[str, int] = dict.fromkeys(taxonomy.tasks, 0)
    excluded: Counter[str] = Counter()
    seen: set[str] = set()
    rows: list[dict[str, Any]] = []
    view_columns = [name for name in cols.views[: config.views] if name in export.columns]
    shopper_columns = [name for name in cols.shopper_photos if name in export.columns]
    for record in export.to_dict("records"):
        product = str(record[cols.product_id]).strip()
        if not product or product in seen:
            excluded["duplicate_or_blank_product_id"] += 1
            continue
        seen.add(product)
        labels: dict[str, list[str]] = {}
        for task_name, task in taxonomy.tasks.items():
            column = cols.tasks.get(task_name)
            found: list[str] = []
            for code in split_codes(record.get(column) if column else None, task_name):
                mapped = codes.lookup(task_name, code)
                if mapped is None:
                    unknown[task_name][code] += 1
                else:
                    found.extend(label for label in mapped if label not in found)
            labels[task_name] = [label for label in task.ids if label in found]
            labelled[task_name] += bool(found)
        if TYPE_TASK in labels and not labels[TYPE_TASK]:
            excluded["type_unknown_or_missing"] += 1
            continue
        images = _image_cells(record, view_columns, config.image_prefix)
        if not images:
            excluded["no_image"] += 1
            continue
        for domain, paths in (
            ("shop", images),
            ("user", _image_cells(record, shopper_columns, config.image_prefix)),
        ):
            for image in paths:
                rows.append(
                    {"image_path": image, "domain": domain, "product_id": product, **labels}
                )
    frame = pd.DataFrame(rows, columns=["image_path", "domain", "product_id", *taxonomy.tasks])
    frame.insert(1, "source", "catalogue")
    frame.insert(3, "site", None)
    frame.insert(4, "item_id", None)
    total = len(export)
    summary = {
        "products_in": total,
        "products_out": int(frame["product_id"].nunique()) if len(frame) else 0,
        "images_out": len(frame),
        "shopper_images_out": int((frame["domain"] == "user").sum()),
        "views_kept": config.views,
        "excluded_products": dict(excluded),
        "coverage": {
            task: round(count / total, 4) if total else 1.0 for task, count in labelled.items()
        },
        "unknown_codes": {
            task: dict(counter.most_common()) for task, counter in unknown.items() if counter
        },
    }
    return frame, summary


def _image_cells(record: dict[str, Any], columns: list[str], prefix: str) -> list[str]:
    cells = [str(record[name]).strip() for name in columns]
    return [prefix + path for path in cells if path and path != "nan"]


def merge_catalogue(
    export: pd.DataFrame,
    codes: CodeTable,
    taxonomy: Taxonomy,
    config: MergeConfig,
    marketplace: pd.DataFrame | None = None,
    pairs: pd.DataFrame | None = None,
    source: str = "catalogue export",
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The manifest (catalogue rows, then marketplace rows) and the merge summary.

    ``pairs`` has columns ``site``, ``item_id``, ``pair_id``: the listing shows the catalogue
    product whose ``product_id`` is ``pair_id``. Both sides of a pair get that ``pair_id``;
    so do a product's customers' photos and its studio shots.
    """
    shop, summary = catalogue_rows(export, codes, taxonomy, config, source)
    tasks = list(taxonomy.tasks)
    frames = [shop]
    if marketplace is not None:
        missing = [
            name for name in ["image_path", "site", "item_id", *tasks] if name not in marketplace
        ]
        if missing:
            raise UserError(f"marketplace table lacks column(s) {', '.join(missing)}")
        user = marketplace[["image_path", "site", "item_id", *tasks]].copy()
        user.insert(1, "source", "marketplace")
        user.insert(2, "domain", "user")
        user.insert(5, "product_id", None)
        frames.append(user)
        summary["marketplace_images_in"] = len(marketplace)
    manifest = pd.concat(frames, ignore_index=True) if len(frames) > 1 else shop
    manifest["pair_id"] = _pair_ids(manifest, pairs, summary)
    for column in ("site", "item_id", "product_id", "pair_id"):
        manifest[column] = manifest[column].astype(object).where(manifest[column].notna(), None)
    summary["rows_out"] = len(manifest)
    return manifest[[*MANIFEST_COLUMNS, *tasks, "pair_id"]], summary


def _pair_ids(manifest: pd.DataFrame, pairs: pd.DataFrame | None, summary: dict[str, Any]) -> Any:
    catalogue = manifest["source"] == "catalogue"
    # A product with customers' photos is paired whatever the marketplace shows.
    photographed = set(manifest.loc[catalogue & (manifest["domain"] == "user"), "product_id"])
    if pairs is None:
        return manifest["product_id"].where(catalogue & manifest["product_id"].isin(photographed))
    missing = [name for name in ("site", "item_id", "pair_id") if name not in pairs]
    if missing:
        raise UserError(f"pairs table lacks column(s) {', '.join(missing)}")
    pairs = pairs.astype({"site": str, "item_id": str, "pair_id": str})
    by_item = dict(
        zip(zip(pairs["site"], pairs["item_id"], strict=True), pairs["pair_id"], strict=True)
    )
    products = set(manifest["product_id"].dropna())
    listed = set(zip(manifest["site"], manifest["item_id"], strict=True))
    listed_products = {pid for key, pid in by_item.items() if key in listed and pid in products}
    paired_products = listed_products | photographed
    summary["pairs"] = {
        "pairs_in": len(pairs),
        "matched": sum(key in listed and pid in products for key, pid in by_item.items()),
        "products_paired": len(listed_products),
    }
    user = [by_item.get((s, i)) for s, i in zip(manifest["site"], manifest["item_id"], strict=True)]
    shop = manifest["product_id"].where(manifest["product_id"].isin(paired_products))
    return pd.Series(user, dtype=object).where(manifest["source"] == "marketplace", shop)

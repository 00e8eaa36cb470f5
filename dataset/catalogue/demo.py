"""A deterministic house catalogue export for the demo, from the synthetic garment universe.

The retailer's side of the demo: every product of ``DemoUniverse(seed).catalogue_designs()``
gets 2 to 5 studio shots (``render_catalogue_view``), ``shopper_photos`` customers' photos
(``render_shopper_photo``: review photos, street-to-shop queries whose match is known) and a
row in an export that looks like the real one: house code ids instead of labels, multi-valued id cells (``"9,17"``), fine
product types (``blouson``, ``trench``) that the code table regroups. Some designs are also
listed on the demo marketplace; ``pairs.csv`` names them, with the design id as ``pair_id``
(the catalogue ``product_id`` is the design id), so retrieval can be scored on true pairs.

Entry point :func:`build_demo_catalogue`; written under ``catalogue/<name>/``:
``images/<product>-<view>.jpg``, ``shoppers/<product>-<k>.jpg``, ``export.csv``, ``codes.yaml``, ``pairs.csv``,
``demo-catalogue-summary.json``.
"""

from __future__ import annotations

import io
import logging
import zlib
from typing import Any

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field
from tqdm import tqdm

from dataset.core.store import Store

logger = logging.getLogger(__name__)

# House code ids as the retailer's product table numbers them (not the taxonomy order).
COLOUR_IDS = {
    "black": 1,
    "red": 2,
    "orange": 4,
    "yellow": 5,
    "pink": 6,
    "grey": 8,
    "blue": 9,
    "green": 12,
    "brown": 14,
    "white": 17,
    "beige": 21,
}
MATERIAL_IDS = {
    "cotton": 1,
    "polyester": 2,
    "viscose": 3,
    "wool": 5,
    "linen": 6,
    "polyamide": 7,
    "silk": 8,
    "cashmere": 10,
    "elastane": 11,
    "leather": 13,
    "other": 99,
}
GENDER_IDS = {"women": 1, "men": 2, "girl": 3, "boy": 4, "baby": 5, "child": 6}
# Fine product types of the house product table, regrouped by the code table.
PRODUCT_TYPES = {
    "sweaters": ["pull", "sweat-shirt", "sweat à capuche"],
    "t-shirts": ["t-shirt", "débardeur"],
    "jackets-coats": ["blouson", "trench", "perfecto", "manteau", "veste"],
    "trousers": ["pantalon", "chino"],
    "skirts": ["jupe", "jupe plissée"],
    "jeans": ["jean droit", "jean slim"],
    "sets": ["ensemble", "costume", "tailleur"],
    "shirts": ["chemise"],
    "shorts": ["short", "bermuda"],
    "puffer-jackets": ["doudoune", "doudoune sans manches"],
    "cardigans": ["cardigan", "gilet"],
    "dresses": ["robe", "robe longue"],
    "blouses": ["blouse", "chemisier"],
    "polos": ["polo"],
    "leggings": ["legging"],
}
MAX_VIEWS = 5
MAX_SHOPPER_PHOTOS = 3  # columns shopper_1..3 of the export


class DemoCatalogueConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seed: int = 0
    items_per_category: int = Field(40, ge=1, description="as given to the demo marketplace")
    image_size: int = Field(128, ge=16, le=1024)
    shopper_photos: int = Field(
        2, ge=0, le=MAX_SHOPPER_PHOTOS, description="customers' photos per product"
    )
    name: str = "demo"
    site: str = "demo"
    progress: bool = False


def _stable(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


def _cell(ids: list[int]) -> str:
    return ",".join(str(i) for i in ids)


def codes_yaml() -> str:
    """The demo code table (house ids and product types -> taxonomy labels)."""
    table: dict[str, Any] = {
        "version": 1,
        "colour": {code: label for label, code in sorted(COLOUR_IDS.items(), key=lambda i: i[1])},
        "material": {
            code: label for label, code in sorted(MATERIAL_IDS.items(), key=lambda i: i[1])
        },
        "gender": {code: label for label, code in sorted(GENDER_IDS.items(), key=lambda i: i[1])},
        "type": {fine: house for house, fines in PRODUCT_TYPES.items() for fine in fines},
    }
    header = "# Demo house code table: catalogue ids and product types -> taxonomy labels.\n"
    return header + yaml.safe_dump(table, sort_keys=False, allow_unicode=True)


def _export_row(design: Any, views: list[str], shoppers: list[str]) -> dict[str, str]:
    fines = PRODUCT_TYPES[design.type]
    row = {
        "product_id": str(design.design_id),
        **{f"view_{n + 1}": views[n] if n < len(views) else "" for n in range(MAX_VIEWS)},
        **{
            f"shopper_{n + 1}": shoppers[n] if n < len(shoppers) else ""
            for n in range(MAX_SHOPPER_PHOTOS)
        },
        "colour_ids": _cell([COLOUR_IDS[c] for c in design.colours]),
        "material_ids": _cell([MATERIAL_IDS[m] for m in design.materials]),
        "gender_id": _cell([GENDER_IDS[g] for g in design.genders]),
        "product_type": fines[_stable(str(design.design_id)) % len(fines)],
    }
    return row


def build_demo_catalogue(
    store: Store, config: DemoCatalogueConfig
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Write the demo catalogue under ``catalogue/<name>/``; returns ``(export, summary)``."""
    from dataset.synthetic import DemoUniverse

    universe = DemoUniverse(seed=config.seed, items_per_category=config.items_per_category)
    base = f"catalogue/{config.name}"
    designs = sorted(universe.catalogue_designs(), key=lambda d: str(d.design_id))
    rows: list[dict[str, str]] = []
    written = 0

    def image(key: str, render: Any, *args: Any) -> str:
        nonlocal written
        if not store.exists(key):  # rerunning rewrites nothing already there
            store.write_bytes(key, render(*args, size=config.image_size))
            written += 1
        return key

    for design in tqdm(designs, desc="demo catalogue", unit="product", disable=not config.progress):
        product = design.design_id
        n_views = 2 + _stable(f"{config.seed}:{product}") % (MAX_VIEWS - 1)
        studio, shopper = universe.render_catalogue_view, universe.render_shopper_photo
        views = [
            image(f"{base}/images/{product}-{view + 1}.jpg", studio, product, view)
            for view in range(n_views)
        ]
        shoppers = [
            image(f"{base}/shoppers/{product}-{k + 1}.jpg", shopper, product, k)
            for k in range(config.shopper_photos)
        ]
        rows.append(_export_row(design, views, shoppers))
    export = pd.DataFrame(rows)
    products = set(export["product_id"])
    # Deleted listings 404 on the site, so no crawl ever holds them.
    pairs = [
        {"site": config.site, "item_id": listing.item_id, "pair_id": listing.pair_id}
        for slug in universe.categories
        for listing in universe.listings(slug)
        if listing.pair_id in products and not listing.deleted
    ]
    pairs_frame = pd.DataFrame(pairs, columns=["site", "item_id", "pair_id"])
    store.write_bytes(f"{base}/export.csv", export.to_csv(index=False).encode("utf-8"))
    store.write_text(f"{base}/codes.yaml", codes_yaml())
    buffer = io.StringIO()
    pairs_frame.to_csv(buffer, index=False)
    store.write_text(f"{base}/pairs.csv", buffer.getvalue())
    summary = {
        "stage": "demo-catalogue",
        "seed": config.seed,
        "products": len(export),
        "images": int(export.filter(like="view_").ne("").to_numpy().sum()),
        "shopper_photos": int(export.filter(like="shopper_").ne("").to_numpy().sum()),
        "images_written": written,
        "multi_valued_cells": int(
            export[["colour_ids", "material_ids", "gender_id"]]
            .map(lambda c: "," in c)
            .to_numpy()
            .sum()
        ),
        "pairs": len(pairs_frame),
        "paired_products": int(pairs_frame["pair_id"].nunique()) if len(pairs_frame) else 0,
        "export": store.uri_for(f"{base}/export.csv"),
    }
    store.write_json(f"{base}/demo-catalogue-summary.json", summary)
    return export, summary

"""The demo house catalogue: deterministic, realistic export, true pairs with the marketplace."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from dataset.catalogue.codes import parse_codes
from dataset.catalogue.demo import DemoCatalogueConfig, build_demo_catalogue
from dataset.catalogue.merge import MergeConfig, merge_catalogue
from dataset.cli import main
from dataset.core.store import open_store
from dataset.mapping.marketplace import MapConfig, map_listings
from dataset.synthetic import DemoUniverse
from dataset.taxonomy.schema import load_taxonomy
from tests.mapping_fixtures import universe_records, write_items

ITEMS = 2  # items per category: the smallest universe that still has pairs


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo")
    code = main(
        [
            "demo-catalogue",
            "--store",
            str(root),
            "--size",
            "32",
            "--items-per-category",
            str(ITEMS),
            "--format",
            "json",
        ]
    )
    assert code == 0
    return root


def test_demo_catalogue_export(demo_store: Path) -> None:
    store = open_store(demo_store)
    export = pd.read_csv(
        io.BytesIO(store.read_bytes("catalogue/demo/export.csv")), dtype=str, keep_default_na=False
    )
    universe = DemoUniverse(seed=0, items_per_category=ITEMS)
    assert export["product_id"].tolist() == sorted(
        d.design_id for d in universe.catalogue_designs()
    )
    views = export.filter(like="view_").ne("").sum(axis=1)
    assert views.between(2, 5).all() and views.nunique() > 1
    assert export["colour_ids"].str.contains(",").any()  # multi-valued id cells
    first = export.iloc[0]
    image = Image.open(io.BytesIO(store.read_bytes(first["view_1"])))
    assert image.format == "JPEG" and image.size == (32, 32)
    codes = parse_codes(store.read_text("catalogue/demo/codes.yaml"), "codes.yaml", load_taxonomy())
    assert codes.lookup("type", "perfecto") == ("jackets-coats",)
    manifest, summary = merge_catalogue(export, codes, load_taxonomy(), MergeConfig())
    assert summary["unknown_codes"] == {} and summary["excluded_products"] == {}
    # two studio views and two customers' photos per product, paired with it
    assert len(manifest) == 4 * len(export) and summary["shopper_images_out"] == 2 * len(export)
    shoppers = manifest[manifest["domain"] == "user"]
    assert (shoppers["pair_id"] == shoppers["product_id"]).all()
    assert shoppers["image_path"].str.startswith("catalogue/demo/shoppers/").all()
    design = universe.design(first["product_id"])
    row = manifest.iloc[0]
    assert set(row["colour"]) == set(design.colours) and row["type"] == [design.type]
    # Deterministic: a second run rewrites nothing and produces the same bytes.
    before = store.read_bytes("catalogue/demo/export.csv")
    _, again = build_demo_catalogue(
        store, DemoCatalogueConfig(items_per_category=ITEMS, image_size=32)
    )
    assert again["images_written"] == 0 and store.read_bytes("catalogue/demo/export.csv") == before


def test_demo_marketplace_maps_fully_and_pairs_with_the_catalogue(demo_store: Path) -> None:
    """The demo listings (as a crawl stores them) reach 100% coverage; pairs share a type."""
    store = open_store(demo_store)
    universe = DemoUniverse(seed=0, items_per_category=ITEMS)
    for slug, records in universe_records(universe).items():
        write_items(store, records, f"raw/demo/{slug}/items/run1-00001.jsonl")
    table, summary = map_listings(store, "demo", MapConfig())
    assert summary["fully_mapped"], summary["coverage"]
    assert all(cov["coverage"] == 1.0 for cov in summary["coverage"].values())
    assert summary["excluded_listings"]["type_unmapped"] == 0
    export = pd.read_csv(
        io.BytesIO(store.read_bytes("catalogue/demo/export.csv")), dtype=str, keep_default_na=False
    )
    pairs = pd.read_csv(io.BytesIO(store.read_bytes("catalogue/demo/pairs.csv")), dtype=str)
    assert len(pairs) > 0
    codes = parse_codes(store.read_text("catalogue/demo/codes.yaml"), "codes.yaml", load_taxonomy())
    manifest, merged = merge_catalogue(export, codes, load_taxonomy(), MergeConfig(), table, pairs)
    assert merged["pairs"]["matched"] == len(pairs)
    paired = manifest.dropna(subset=["pair_id"])
    types = paired.groupby(["pair_id", "domain"])["type"].first().map(tuple).unstack()
    # every product has customers' photos; the listings pair a few of them too
    assert len(types) == len(export) and merged["pairs"]["products_paired"] > 0
    assert (types["user"] == types["shop"]).all()

"""The mapping commands on what the crawler really stored from the demo marketplace.

Crawl five categories over HTTP, then the maintainer's loop: `unmapped` finds nothing,
`map --strict` covers every field, and the merge with the demo catalogue (same seed and
size as the site) pairs shoppers' photos with catalogue products.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from dataset.cli import main
from tests.crawler_fixtures import crawl
from tests.demo_site_fixtures import RunningDemoSite, start_demo_site

CATEGORIES = ["robes", "jeans", "pulls-et-sweats", "chemises", "doudounes"]
ITEMS = 6  # mean listings per category, on the site and in the catalogue


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RunningDemoSite]:
    root = tmp_path_factory.mktemp("crawled")
    with start_demo_site(root / "site", items_per_category=ITEMS) as site:
        flags = [flag for category in CATEGORIES for flag in ("--category", category)]
        code, report, stderr = crawl(site, str(root / "store"), *flags, "--rate", "50")
        assert code == 0, stderr[-2000:]
        assert report
        yield root / "store", site


def dataset_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    capsys.readouterr()
    assert main([*argv, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_crawled_demo_listings_map_fully_and_pair_with_the_catalogue(
    crawled: tuple[Path, RunningDemoSite], capsys: pytest.CaptureFixture[str]
) -> None:
    store, site = crawled
    unmapped = dataset_json(capsys, "unmapped", "--store", str(store), "--site", "demo")
    assert unmapped["unmapped"] == []
    assert {task: cov["coverage"] for task, cov in unmapped["summary"]["coverage"].items()} == {
        "colour": 1.0,
        "material": 1.0,
        "gender": 1.0,
        "type": 1.0,
    }

    out = store / "datasets" / "demo" / "v1"
    mapped = dataset_json(
        capsys, "map", "--store", str(store), "--site", "demo", "--out", str(out), "--strict"
    )
    assert {task: cov["coverage"] for task, cov in mapped["coverage"].items()} == {
        "colour": 1.0,
        "material": 1.0,
        "gender": 1.0,
        "type": 1.0,
    }
    labelled = pd.read_parquet(out / "labelled.parquet")
    assert set(labelled["category"]) == set(CATEGORIES)
    stored = {
        item.item_id
        for category in CATEGORIES
        for item in site.universe.listings(category)
        if not item.deleted and not item.noai
    }
    assert set(labelled["item_id"]) == stored

    seed = str(site.config.seed)
    dataset_json(
        capsys, "demo-catalogue", "--store", str(store), "--seed", seed,
        "--items-per-category", str(ITEMS), "--size", "32",
    )  # fmt: skip
    catalogue = store / "catalogue" / "demo"
    merged = dataset_json(
        capsys, "merge-catalogue", "--catalogue", str(catalogue / "export.csv"),
        "--codes", str(catalogue / "codes.yaml"), "--pairs", str(catalogue / "pairs.csv"),
        "--marketplace", str(out / "labelled.parquet"), "--out", str(out),
    )  # fmt: skip
    manifest = pd.read_parquet(out / "manifest.parquet")
    paired = manifest.dropna(subset=["pair_id"])
    both_sides = paired.groupby("pair_id")["domain"].nunique()
    assert (both_sides == 2).sum() >= 1, merged
    listed = paired.loc[paired["source"] == "marketplace", "pair_id"]  # not customers' photos
    crawled_pairs = {i.pair_id for c in CATEGORIES for i in site.universe.listings(c)} & set(listed)
    assert crawled_pairs == set(listed)

"""Full crawls of the demo marketplace into a local store and into S3 (moto), both modes."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from PIL import Image

from dataset.core.store import open_store
from dataset.mapping.listings import read_listings
from tests.crawler_fixtures import ROOT, crawl, crawl_env, expected_items, records_of
from tests.demo_site_fixtures import RunningDemoSite
from tests.demo_site_fixtures import demo_site as demo_site  # noqa: F401
from tests.demo_site_fixtures import demo_site_factory as demo_site_factory  # noqa: F401

CATEGORIES = ["robes", "jeans", "manteaux-et-vestes"]  # deleted and noai items among them


def check_labels(record: dict[str, Any], item: Any) -> None:
    """Raw labels exactly as the site shows them (the universe is what it shows)."""
    assert record["title"] == item.title
    assert record["brand"] == item.brand
    assert record["colors"] == (item.colors or None)
    assert record["materials"] == (item.materials or None)
    assert record["gender"] == item.gender
    assert record["size"] == item.size
    assert record["condition"] == item.condition
    assert record["price"] == {"amount": item.price_amount, "currency": item.currency}


def check_complete(store_uri: str, site: RunningDemoSite, categories: list[str]) -> None:
    store = open_store(store_uri)
    for category in categories:
        records = records_of(store, category)
        expected = expected_items(site, category)
        ids = [r["item_id"] for r in records]
        assert sorted(ids) == sorted(expected), category  # all there, none twice
        for record in records:
            item = expected[record["item_id"]]
            check_labels(record, item)
            assert record["category"] == category and record["site"] == "demo"
            assert record["url"].startswith(site.base_url + "/articles/" + item.item_id)
            assert len(record["image_urls"]) == len(item.photo_ids)
            (image,) = record["images"]  # one photo per item by default
            assert image["url"] == record["image_urls"][0]
            Image.open(io.BytesIO(store.read_bytes(image["path"]))).load()
            provenance = record["provenance"]
            assert provenance["source_url"].startswith(site.base_url)
            assert provenance["fetched_at"] == record["fetched_at"]
            assert "Disallow: /membres/" in provenance["robots_rules"]["text"]


def test_api_crawl_of_several_categories_to_a_local_store(
    demo_site: RunningDemoSite,  # noqa: F811
    tmp_path: Path,
) -> None:
    store = str(tmp_path / "store")
    args = [a for c in CATEGORIES for a in ("--category", c)]
    code, report, stderr = crawl(demo_site, store, *args, "--rate", "50")
    assert code == 0, stderr[-2000:]
    check_complete(store, demo_site, CATEGORIES)

    # The API pages of each category (as large as the site serves), then one request per
    # item: its photo.
    paths = [e["path"] for e in demo_site.requests()]
    assert not [p for p in paths if p.startswith("/articles/")]
    size = demo_site.config.max_per_page
    pages = sum(-(-len(demo_site.universe.listings(c)) // size) for c in CATEGORIES)
    assert sum(p.startswith("/api/v2/catalog/items") for p in paths) == pages

    runs = {r["category"]: r for r in report["runs"]}
    noai = {c: sum(i.noai for i in demo_site.universe.listings(c)) for c in CATEGORIES}
    assert sum(noai.values()) > 0
    for category in CATEGORIES:
        run = runs[category]
        assert run["status"] == "finished"
        assert run["items"] == len(expected_items(demo_site, category))
        assert run["optout"]["images"] == noai[category]
        stored = open_store(store).read_json(f"raw/demo/{category}/runs/{run['run_id']}.json")
        assert stored["items"] == run["items"] and stored["requests"]["total"] > 0

    # A rerun asks for the listing pages only: no photo, not even of deleted items.
    before = len(demo_site.requests())
    code, again, _ = crawl(demo_site, store, *args, "--rate", "50")
    assert code == 0 and [r["items"] for r in again["runs"]] == [0] * len(CATEGORIES)
    assert {e["host"] for e in demo_site.requests()[before:]} == {"pages"}

    # The dataset side reads what the crawler wrote.
    frame, read_report = read_listings(open_store(store), "demo")
    assert read_report.malformed == read_report.missing_fields == 0
    assert len(frame) == sum(len(expected_items(demo_site, c)) for c in CATEGORIES)

    # `s2s-crawl stats` from the store alone.
    done = subprocess.run(
        [sys.executable, "-m", "crawler", "stats", "--store", store, "--site", "demo"]
        + ["--format", "json"],
        capture_output=True,
        text=True,
        env=crawl_env(),
        check=True,
    )
    rows = {row["category"]: row for row in json.loads(done.stdout)["categories"]}
    assert set(rows) == set(CATEGORIES)
    for category in CATEGORIES:
        assert rows[category]["items"] == rows[category]["photos"] == runs[category]["items"]
        assert rows[category]["last_run_status"] == "finished"
        assert rows[category]["last_run_429"] == 0


def test_html_mode_reads_the_same_labels_even_with_broken_json_ld(
    demo_site_factory: Any,
    tmp_path: Path,
) -> None:
    site = demo_site_factory(faults={"bad_jsonld": 0.5})
    store = str(tmp_path / "store")
    category = "manteaux-et-vestes"  # one of its items opts out of AI training
    code, report, stderr = crawl(site, store, "--category", category, "--mode", "html")
    assert code == 0, stderr[-2000:]
    check_complete(store, site, [category])
    (run,) = report["runs"]
    assert run["mode"] == "html" and run["jsonld_malformed"] > 0
    assert run["optout"]["pages"] == 1 and run["skipped"] == {"noai": 1}
    item_pages = [e for e in site.requests() if e["path"].startswith("/articles/")]
    assert len(item_pages) == len({e["path"] for e in item_pages})  # each page once


def test_crawl_to_s3(
    demo_site: RunningDemoSite,  # noqa: F811
    s3_bucket: str,
) -> None:
    store = f"{s3_bucket}/crawl"
    code, _, stderr = crawl(demo_site, store, "--category", "robes", "--category", "jeans")
    assert code == 0, stderr[-2000:]
    check_complete(store, demo_site, ["robes", "jeans"])
    keys = list(open_store(store).list("raw/demo/"))
    assert any(k.startswith("raw/demo/images/full/") for k in keys)
    assert any(k.startswith("raw/demo/robes/ledger/") for k in keys)
    frame, _ = read_listings(open_store(store), "demo")
    assert set(frame["category"]) == {"robes", "jeans"}


def test_scrapy_crawl_runs_the_same_spider(
    demo_site: RunningDemoSite,  # noqa: F811
    tmp_path: Path,
) -> None:
    store = tmp_path / "store"
    done = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "demo", "-a", "category=jeans"]
        + [
            "-a",
            f"base_url={demo_site.base_url}",
            "-a",
            f"image_base_url={demo_site.image_base_url}",
        ]
        + ["-s", f"S2S_STORE={store}", "-s", "S2S_RATE=50", "-s", "LOG_LEVEL=WARNING"],
        capture_output=True,
        text=True,
        env=crawl_env(),
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    check_complete(str(store), demo_site, ["jeans"])

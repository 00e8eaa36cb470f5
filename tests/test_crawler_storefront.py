"""The storefront flavour crawled with a profile alone: embedded JSON, cursors, microdata,
attribute lists, a photo URL rule, offsite photos, 410 for sold items and one budget
shared by both hosts; the probe command; the Python escape hatch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from crawler.demo_site.log import busiest_window
from crawler.demo_site.storefront import load_words, product
from dataset.core.store import open_store
from dataset.mapping.listings import read_listings
from tests.crawler_fixtures import UA, crawl, crawl_env, records_of
from tests.demo_site_fixtures import RunningDemoSite
from tests.demo_site_fixtures import demo_site_factory as demo_site_factory  # noqa: F401

CATEGORIES = {"dresses": "robes", "coats-and-jackets": "manteaux-et-vestes"}
RETRY_AFTER = 1.0


def storefront(factory: Any, **options: Any) -> RunningDemoSite:
    site: RunningDemoSite = factory(flavour="storefront", **options)
    return site


def crawl_storefront(site: RunningDemoSite, store: str, *args: str) -> tuple[int, Any, str]:
    return crawl(site, store, "--site", "storefront", *args)


def expected(site: RunningDemoSite, slug: str) -> dict[str, Any]:
    words = load_words()
    return {
        x.item_id: product(x, words)
        for x in site.universe.listings(CATEGORIES[slug])
        if not x.deleted and not x.noai
    }


def check_storefront(store_uri: str, site: RunningDemoSite, slugs: list[str]) -> None:
    store = open_store(store_uri)
    for slug in slugs:
        records = records_of(store, slug, site="storefront")
        shown = expected(site, slug)
        assert sorted(r["item_id"] for r in records) == sorted(shown), slug
        for record in records:
            item = shown[record["item_id"]]
            assert record["title"] == item.title and record["brand"] == item.listing.brand
            assert record["colors"] == (item.colors or None)
            assert record["materials"] == (item.materials or None)
            assert record["gender"] == item.gender and record["size"] == item.size
            assert record["condition"] == item.condition
            assert record["price"] == {"amount": item.listing.price_amount, "currency": "GBP"}
            # Thumbnails (?w=240) rewritten to the full photo; the offsite one never fetched.
            assert all("w=" not in url for url in record["image_urls"])
            (image,) = record["images"]
            assert image["url"].startswith(site.image_base_url + "/i/")
            assert record["provenance"]["robots_rules"]["text"].startswith("User-agent")


def test_storefront_crawl_with_a_profile_alone(demo_site_factory: Any, tmp_path: Path) -> None:  # noqa: F811
    site = storefront(demo_site_factory, items_per_category=8, per_page=3)
    store = str(tmp_path / "store")
    code, report, stderr = crawl_storefront(
        site, store, "--category", "dresses", "--category", "coats-and-jackets", "--rate", "40"
    )
    assert code == 0, stderr[-2000:]
    check_storefront(store, site, list(CATEGORIES))
    log = site.requests()
    # robots.txt once per host for the whole process, not once per category.
    assert sorted(e["host"] for e in log if e["path"] == "/robots.txt") == ["images", "pages"]
    # The cursor walked every page: ceil(8 / 3) listing pages per category at least.
    assert sum(e["path"].startswith("/c/") for e in log) >= 2 * 3
    assert not [e for e in log if e["host"] == "images" and "w=" in e["path"]]
    runs = {r["category"]: r for r in report["runs"]}
    for slug, french in CATEGORIES.items():
        run = runs[slug]
        listings = site.universe.listings(french)
        sold = sum(x.deleted for x in listings)
        assert run["status"] == "finished" and run["items"] == len(expected(site, slug))
        assert run["skipped"].get("gone", 0) == sold and "broken" not in run["skipped"]
        assert run["requests"]["by_status"].get("410", 0) == sold
        live = [x for x in listings if not x.deleted and not x.noai]
        assert run["photos_offsite"] == sum(int(x.item_id) % 5 == 0 for x in live)
        assert run["photos_broken"] == 0
    # The dataset side reads it, and the storefront's mapping tables cover its words.
    frame, read_report = read_listings(open_store(store), "storefront")
    assert read_report.malformed == read_report.missing_fields == 0
    assert len(frame) == sum(len(expected(site, s)) for s in CATEGORIES)


def test_storefront_crawl_to_s3(demo_site_factory: Any, s3_bucket: str) -> None:  # noqa: F811
    site = storefront(demo_site_factory, items_per_category=5, per_page=2)
    store = f"{s3_bucket}/shop"
    code, _, stderr = crawl_storefront(site, store, "--category", "dresses", "--rate", "40")
    assert code == 0, stderr[-2000:]
    check_storefront(store, site, ["dresses"])
    keys = list(open_store(store).list("raw/storefront/"))
    assert any(k.startswith("raw/storefront/images/full/") for k in keys)


def test_one_budget_for_both_hosts_and_a_429_pauses_both(
    demo_site_factory: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    # The site allows 5 requests/s for its two hosts together; the crawler is told 8.
    site = storefront(demo_site_factory, items_per_category=5, per_page=5, page_rate="5:1")
    code, report, stderr = crawl_storefront(
        site, str(tmp_path / "s"), "--category", "dresses", "--rate", "8"
    )
    assert code == 0, stderr[-2000:]
    log = [dict(e, host="site") for e in site.requests()]
    assert busiest_window(log, "site", served_only=False) <= 8  # both hosts together
    refusals = [e for e in log if e["status"] == 429]
    assert refusals, "the site's budget is below the crawler's: it must answer 429"
    for refusal in refusals:  # a 429 from either host pauses both
        during = [
            e for e in log if refusal["t"] + 0.15 < e["t"] < refusal["t"] + RETRY_AFTER - 0.05
        ]
        assert not during, (refusal, during)
    (run,) = report["runs"]
    assert run["requests"]["by_status"]["429"] == run["throttled_429"] == len(refusals)
    assert run["items"] == len(expected(site, "dresses"))


def probe(site: RunningDemoSite, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crawler", "probe", "--base-url", site.base_url]
        + ["--image-base-url", site.image_base_url, "--user-agent", UA, *args],
        capture_output=True,
        text=True,
        env=crawl_env(),
        timeout=60,
        check=False,
    )


def test_probe_shows_what_each_key_found_and_stores_nothing(
    demo_site_factory: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    site = storefront(demo_site_factory)
    done = probe(site, "--site", "storefront", "--category", "dresses", "--format", "json")
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    listing, item, record = report["listing"], report["item"], report["record"]
    assert listing["found"]["html.embedded.items 'props.pageProps.products'"] == 5
    assert listing["next_url"].startswith(site.base_url + "/c/dresses?cursor=")
    assert item["found"]["html.key_values[1] 'dl.fit'"].keys() >= {"Size"}
    first = site.universe.listings("robes")[0]
    assert record["item_id"] == first.item_id
    assert record["title"] == product(first, load_words()).title
    expected_empty = [f for f in ("brand", "condition") if getattr(first, f) is None]
    assert report["empty_fields"] == expected_empty
    paths = [e["path"] for e in site.requests()]
    assert paths[0] == "/robots.txt" and len(paths) == 3  # robots, one listing, one item

    # Text for people: each key, the record, the empty fields; a wrong profile says why.
    text = probe(site, "--site", "demo", "--mode", "html", "--category", "robes")
    assert text.returncode == 1
    assert "listing: " in text.stdout and "answered 404" in text.stdout
    assert "record: none" in text.stdout


ESCAPE_HATCH = '''
from bs4 import BeautifulSoup

from crawler.extract import key_value_pairs
from crawler.spiders.base import MarketplaceSpider


class UkSizesSpider(MarketplaceSpider):
    """The storefront, with sizes written the UK way: what no profile key says."""

    name = "storefront_uk"
    site = "storefront"

    def read_item(self, response, listed):
        labels = super().read_item(response, listed)
        soup = BeautifulSoup(response.text, "html.parser")
        fit = dict(key_value_pairs(soup, "dl.fit", "dt", "dd"))
        if fit.get("Size"):
            labels["size"] = "UK " + fit["Size"]
        return labels
'''


def test_escape_hatch_a_spider_subclass_overrides_a_hook(
    demo_site_factory: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    site = storefront(demo_site_factory, items_per_category=4)
    spider_file = tmp_path / "uk_sizes.py"
    spider_file.write_text(ESCAPE_HATCH)
    store = tmp_path / "store"
    done = subprocess.run(
        [sys.executable, "-m", "scrapy", "runspider", str(spider_file), "-a", "category=dresses"]
        + ["-a", f"base_url={site.base_url}", "-a", f"image_base_url={site.image_base_url}"]
        + ["-s", f"S2S_STORE={store}", "-s", "S2S_RATE=40", "-s", "LOG_LEVEL=WARNING"],
        capture_output=True,
        text=True,
        env=crawl_env(SCRAPY_SETTINGS_MODULE="crawler.settings"),  # as README says
        cwd=tmp_path,  # any folder: no scrapy.cfg needed
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    records = records_of(str(store), "dresses", site="storefront")
    shown = expected(site, "dresses")
    assert sorted(r["item_id"] for r in records) == sorted(shown)
    for record in records:
        size = shown[record["item_id"]].size
        assert record["size"] == (f"UK {size}" if size else None)

"""A crawl that reads nothing fails loudly: the first listing page without any item."""

from __future__ import annotations

from pathlib import Path

from crawler.profiles import SITES_DIR
from tests.crawler_fixtures import crawl, records_of
from tests.demo_site_fixtures import RunningDemoSite
from tests.demo_site_fixtures import demo_site as demo_site  # noqa: F401


def test_first_listing_page_without_items_fails_naming_the_selector(
    demo_site: RunningDemoSite,  # noqa: F811
    tmp_path: Path,
) -> None:
    sites = tmp_path / "sites"
    sites.mkdir()
    profile = (SITES_DIR / "demo.yaml").read_text().replace("a.item-card", "a.product-tile")
    (sites / "demo.yaml").write_text(profile)
    store = str(tmp_path / "store")
    code, report, stderr = crawl(
        demo_site, store, "--category", "robes", "--mode", "html", S2S_SITES_DIR=str(sites)
    )
    assert code == 1, stderr
    (run,) = report["runs"]
    assert run["status"] == "failed" and run["items"] == 0
    assert "html.item_links 'a.product-tile::attr(href)'" in run["error"]
    assert "/catalogue/robes" in run["error"]
    assert records_of(store, "robes") == []


def test_first_listing_page_answering_an_error_fails_the_category(
    demo_site: RunningDemoSite,  # noqa: F811
    tmp_path: Path,
) -> None:
    # The API at a wrong base path: 404 on the first page is not an empty category.
    code, report, _ = crawl(
        demo_site, str(tmp_path / "store"), "--category", "robes",
        "--base-url", demo_site.base_url + "/v1",
    )  # fmt: skip
    assert code == 1
    (run,) = report["runs"]
    assert run["status"] == "failed" and "answered 404" in run["error"], run

"""Profile extractors on pages the demo site serves: each key alone, and its validation."""

from __future__ import annotations

import urllib.request
from pathlib import Path
from typing import Any

import pytest
from scrapy.http import HtmlResponse

from crawler.demo_site.storefront import load_words, product
from crawler.extract import rewrite_photo_url
from crawler.extract_pages import read_api_page, read_html_listing, read_item_page
from crawler.profiles import ApiProfile, HtmlProfile, load_profile
from dataset.core.errors import UserError
from tests.demo_site_fixtures import RunningDemoSite
from tests.demo_site_fixtures import demo_site_factory as demo_site_factory  # noqa: F401


def fetch(url: str) -> HtmlResponse:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return HtmlResponse(url, body=answer.read(), encoding="utf-8")


def html_profile(site: str, **changes: Any) -> HtmlProfile:
    html = load_profile(site).html
    assert html is not None
    return HtmlProfile.model_validate({**html.model_dump(), **changes})


def test_embedded_json_and_its_cursor_walk_every_item(demo_site_factory: Any) -> None:  # noqa: F811
    site: RunningDemoSite = demo_site_factory(flavour="storefront", items_per_category=7)
    html = html_profile("storefront")
    url: str | None = f"{site.base_url}/c/dresses"
    seen = []
    while url:
        page = read_html_listing(html, fetch(url), base_url=site.base_url, category="dresses")
        assert page.empty_because is None
        seen += [(x.item_id, x.labels["title"]) for x in page.items]
        url = page.next_url
    listings = site.universe.listings("robes")
    assert [item_id for item_id, _ in seen] == [x.item_id for x in listings]


def test_microdata_key_values_and_selectors_on_an_item_page(demo_site_factory: Any) -> None:  # noqa: F811
    site: RunningDemoSite = demo_site_factory(flavour="storefront")
    listing = next(x for x in site.universe.listings("robes") if not x.deleted and x.brand)
    response = fetch(f"{site.base_url}/p/{listing.item_id}")
    labels = read_item_page(html_profile("storefront"), response).labels
    assert labels["brand"] == listing.brand
    assert labels["price"] == {"amount": listing.price_amount, "currency": "GBP"}
    shown = product(listing, load_words())
    assert labels["size"] == shown.size and labels["condition"] == shown.condition  # dl/dt/dd
    assert labels["colors"] == shown.colors  # li with two spans
    # The same fields from selectors alone, microdata and lists off.
    by_selectors = html_profile(
        "storefront",
        microdata=False,
        key_values=[],
        title="h1::text",
        photos="img[itemprop=image]::attr(src)",
        selectors={
            "brand": "[itemprop=brand] [itemprop=name]::text",
            "price": "[itemprop=price]::attr(content)",
            "currency": "meta[itemprop=priceCurrency]::attr(content)",
            "colors": "ul.attributes li:first-child span.v::text",
        },
    )
    page = read_item_page(by_selectors, response)
    for name in ("brand", "price", "title", "image_urls"):
        assert page.labels[name] == labels[name], name
    assert page.labels["colors"] == labels["colors"]
    assert page.found["html.selectors.brand '[itemprop=brand] [itemprop=name]::text'"]


def test_table_rows_as_key_values_on_the_marketplace_flavour(demo_site_factory: Any) -> None:  # noqa: F811
    site: RunningDemoSite = demo_site_factory()
    listing = next(x for x in site.universe.listings("robes") if not x.deleted)
    response = fetch(f"{site.base_url}/articles/{listing.item_id}")
    html = html_profile("demo", jsonld=False)  # the table alone
    labels = read_item_page(html, response).labels
    assert labels["colors"] == listing.colors and labels["size"] == listing.size
    assert labels["price"] == {"amount": listing.price_amount, "currency": "EUR"}


def test_cursor_from_a_selector_and_from_an_api_answer() -> None:
    response = HtmlResponse(
        "http://shop.test/c/x",
        body=b'<a class="p" href="/p/7">7</a><button class="more" data-after="tok 2">More</button>',
        encoding="utf-8",
    )
    html = HtmlProfile.model_validate(
        {
            "listing_url": "{base_url}/c/{category}",
            "item_links": "a.p::attr(href)",
            "item_id": r"/p/(\d+)",
            "cursor": {
                "css": "button.more::attr(data-after)",
                "url": "{base_url}/c/{category}?after={cursor}",
            },
        }
    )
    page = read_html_listing(html, response, base_url="http://shop.test", category="x")
    assert [x.item_id for x in page.items] == ["7"]
    assert page.next_url == "http://shop.test/c/x?after=tok%202"
    api = ApiProfile.model_validate(
        {
            "listing_url": "{base_url}/api?c={category}",
            "cursor": {"path": "meta.next", "url": "{base_url}/api?c={category}&after={cursor}"},
            "fields": {"item_id": "id", "image_urls": "photos"},
        }
    )
    data = {"items": [{"id": 1, "photos": ["a"]}], "meta": {"next": "n2"}}
    page = read_api_page(api, data, "u", base_url="http://shop.test", category="x", page=1)
    assert page.next_url == "http://shop.test/api?c=x&after=n2"
    last = read_api_page(api, {"items": [{"id": 2}]}, "u", base_url="b", category="x", page=2)
    assert last.next_url is None
    empty = read_api_page(api, {"data": []}, "u", base_url="b", category="x", page=1)
    assert empty.empty_because == "no item at api.items 'items' on u"


def test_photo_url_rule() -> None:
    url = "http://img.test/i/1.jpg?w=240&v=2"
    assert rewrite_photo_url(url, drop_query=["w"]) == "http://img.test/i/1.jpg?v=2"
    assert rewrite_photo_url(url, set_query={"w": "1200"}) == "http://img.test/i/1.jpg?v=2&w=1200"


BASE = """\
name: shop
base_url: https://www.shop.example
mode: html
categories: [dresses]
html:
  listing_url: "{base_url}/c/{category}"
"""


@pytest.mark.parametrize(
    ("html", "message"),
    [
        ("  item_id: 'x(\\\\d+)'\n", "give one of item_links \\(CSS\\) or embedded"),
        (
            "  item_links: a\n  embedded: {script: s, items: i, fields: {url: u}}\n",
            "give one of item_links",
        ),
        ("  embedded: {script: s, items: i, fields: {url: u}}\n", "item_id .* is needed"),
        (
            "  item_links: a\n  item_id: '(\\\\d+)'\n  cursor: {css: b, url: '{base_url}'}\n",
            "url must contain \\{cursor\\}",
        ),
        (
            "  item_links: a\n  item_id: '(\\\\d+)'\n  cursor: {path: p, url: '{cursor}'}\n",
            "cursor.path reads embedded JSON",
        ),
        (
            "  item_links: a\n  item_id: '(\\\\d+)'\n  selectors: {colour: x}\n",
            "unknown record field\\(s\\) \\['colour'\\]",
        ),
    ],
)
def test_bad_extractor_keys_are_one_line_errors(tmp_path: Path, html: str, message: str) -> None:
    path = tmp_path / "shop.yaml"
    path.write_text(BASE + html)
    with pytest.raises(UserError, match=message) as caught:
        load_profile("shop", path)
    assert "\n" not in str(caught.value) and "shop.yaml" in str(caught.value)

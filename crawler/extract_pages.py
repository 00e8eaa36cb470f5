"""A site profile applied to pages: listing pages to items, item pages to labels.

The spiders and ``s2s-crawl probe`` both read pages through here, so what the probe
shows is what a crawl stores. Each reader also says what every profile key found
(``found``: key -> what it matched) and, for a listing page without any item, which key
came out empty (``empty_because``, one line): a crawl fails on that instead of
finishing with 0 items.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from bs4 import BeautifulSoup
from scrapy.http import TextResponse

from crawler import extract
from crawler.profiles import ApiProfile, Cursor, HtmlProfile


@dataclass
class Listed:
    """One item of a listing page: its id, its page (HTML mode) and the labels read so far."""

    item_id: str | None
    url: str | None
    labels: dict[str, Any]


@dataclass
class ListingPage:
    items: list[Listed]
    next_url: str | None
    found: dict[str, Any] = field(default_factory=dict)
    empty_because: str | None = None  # set when no item with an id was found


@dataclass
class ItemPage:
    labels: dict[str, Any]
    found: dict[str, Any] = field(default_factory=dict)
    jsonld_error: str | None = None  # malformed JSON-LD: the rest of the page was read


def api_page_url(api: ApiProfile, base_url: str, category: str, page: int) -> str:
    return api.listing_url.format(
        base_url=base_url, category=category, page=page, per_page=api.per_page
    )


def _cursor_url(cursor: Cursor, token: Any, base_url: str, category: str) -> str | None:
    if token in (None, ""):
        return None
    return cursor.url.format(base_url=base_url, category=category, cursor=quote(str(token)))


def _from_json(raw: Any, fields: dict[str, str]) -> dict[str, Any]:
    return {name: extract.dig(raw, path) for name, path in fields.items()}


def _no_item_reason(items: list[Listed], key: str, value: str, url: str) -> str | None:
    if any(item.item_id for item in items):
        return None
    if items:
        return f"{len(items)} item(s) but none with an id ({key} {value!r}) on {url}"
    return f"no item at {key} {value!r} on {url}"


def read_api_page(
    api: ApiProfile, data: Any, url: str, *, base_url: str, category: str, page: int
) -> ListingPage:
    """Records of one API answer (labels complete) and the next page's URL."""
    raw_items = extract.dig(data, api.items) or []
    items = []
    for raw in raw_items if isinstance(raw_items, list) else []:
        labels = _from_json(raw, api.fields)
        item_id = labels.get("item_id")
        items.append(Listed(None if item_id in (None, "") else str(item_id), None, labels))
    found: dict[str, Any] = {f"api.items {api.items!r}": len(items)}
    if items:
        found.update({f"api.fields.{k} {v!r}": items[0].labels[k] for k, v in api.fields.items()})
    if api.cursor is not None:
        token = extract.dig(data, api.cursor.path or "")
        found[f"api.cursor.path {api.cursor.path!r}"] = token
        next_url = _cursor_url(api.cursor, token, base_url, category)
    else:
        total = extract.dig(data, api.total_pages) if api.total_pages else None
        more = page < int(total) if total is not None else bool(items)
        next_url = api_page_url(api, base_url, category, page + 1) if more else None
    reason = _no_item_reason(items, "api.items", api.items, url)
    if reason and items:
        reason = _no_item_reason(items, "api.fields.item_id", api.fields["item_id"], url)
    return ListingPage(items, next_url, found, reason)


def _embedded_json(html: HtmlProfile, response: TextResponse) -> tuple[Any, str | None]:
    assert html.embedded is not None
    script = response.css(html.embedded.script).get()
    if not script:
        return None, f"selector html.embedded.script {html.embedded.script!r} matched nothing"
    try:
        return json.loads(script), None
    except json.JSONDecodeError as exc:
        return None, f"malformed JSON in html.embedded.script {html.embedded.script!r} ({exc.msg})"


def _listed_from_links(html: HtmlProfile, response: TextResponse) -> list[Listed]:
    assert html.item_links is not None and html.item_id is not None
    items = []
    for href in response.css(html.item_links).getall():
        url = response.urljoin(href)
        match = re.search(html.item_id, url)
        items.append(Listed(match.group(1) if match else None, url, {}))
    return items


def _listed_from_json(html: HtmlProfile, data: Any, response: TextResponse) -> list[Listed]:
    assert html.embedded is not None
    raw_items = extract.dig(data, html.embedded.items) or []
    items = []
    for raw in raw_items if isinstance(raw_items, list) else []:
        labels = _from_json(raw, html.embedded.fields)
        url = response.urljoin(str(labels.pop("url"))) if labels.get("url") else None
        item_id = labels.pop("item_id", None)
        if item_id in (None, "") and url and html.item_id:
            match = re.search(html.item_id, url)
            item_id = match.group(1) if match else None
        listed = {k: v for k, v in labels.items() if v not in (None, "", [])}
        items.append(Listed(None if item_id in (None, "") else str(item_id), url, listed))
    return items


def read_html_listing(
    html: HtmlProfile, response: TextResponse, *, base_url: str, category: str
) -> ListingPage:
    """The items of one HTML listing page (links or embedded JSON) and the next page."""
    found: dict[str, Any] = {}
    data: Any = None
    if html.embedded is not None:
        data, problem = _embedded_json(html, response)
        found[f"html.embedded.script {html.embedded.script!r}"] = problem or "JSON found"
        if problem:
            return ListingPage([], None, found, f"{problem} on {response.url}")
        items = _listed_from_json(html, data, response)
        key, value = "html.embedded.items", html.embedded.items
    else:
        items = _listed_from_links(html, response)
        key, value = "html.item_links", html.item_links or ""
    found[f"{key} {value!r}"] = len(items)
    if items:
        found["first item"] = {"item_id": items[0].item_id, "url": items[0].url, **items[0].labels}
    reason = _no_item_reason(items, key, value, response.url)
    if reason and items:
        id_key = "html.embedded.fields.item_id" if html.item_id is None else "html.item_id"
        id_value = html.item_id or (html.embedded.fields["item_id"] if html.embedded else "")
        reason = _no_item_reason(items, id_key, id_value, response.url)
    next_url = None
    if html.next_page:
        href = response.css(html.next_page).get()
        found[f"html.next_page {html.next_page!r}"] = href
        next_url = response.urljoin(href) if href else None
    elif html.cursor is not None:
        if html.cursor.path is not None:
            token = extract.dig(data, html.cursor.path)
            found[f"html.cursor.path {html.cursor.path!r}"] = token
        else:
            token = response.css(html.cursor.css or "").get()
            found[f"html.cursor.css {html.cursor.css!r}"] = token
        next_url = _cursor_url(html.cursor, token, base_url, category)
    return ListingPage(items, next_url, found, reason)


def read_item_page(
    html: HtmlProfile, response: TextResponse, listed: dict[str, Any] | None = None
) -> ItemPage:
    """Labels of an item page over those of its listing entry. Later sources win: JSON-LD,
    microdata, key/value lists, selectors, title, photos (what a visitor reads comes last)."""
    labels: dict[str, Any] = dict(listed or {})
    found: dict[str, Any] = {}
    page = ItemPage(labels, found)
    soup = BeautifulSoup(response.text, "html.parser")
    if html.jsonld:
        try:
            product = extract.jsonld_product(response.selector)
        except ValueError as exc:
            page.jsonld_error = str(exc)
            product = None
        found["html.jsonld"] = page.jsonld_error or (product and "Product found")
        if product is not None:
            labels.update(extract.jsonld_labels(product, html.list_separator))
    if html.microdata:
        product = extract.microdata_product(soup)
        found["html.microdata"] = product
        if product is not None:
            labels.update(extract.jsonld_labels(product, html.list_separator))
    for i, spec in enumerate(html.key_values):
        pairs = extract.key_value_pairs(soup, spec.rows, spec.key, spec.value)
        found[f"html.key_values[{i}] {spec.rows!r}"] = dict(pairs)
        labels.update(extract.labels_from_pairs(pairs, spec.fields, html.list_separator))
    for name, css in html.selectors.items():
        texts = [t.strip() for t in response.css(css).getall() if t.strip()]
        found[f"html.selectors.{name} {css!r}"] = texts
        if name == "image_urls" and texts:
            labels[name] = texts
        elif name == "currency" and texts:
            price = labels.get("price") or {}
            labels["price"] = {**price, "currency": texts[0]}
        elif value := extract.as_field(name, texts[0] if texts else None, html.list_separator):
            labels[name] = value
    if html.title:
        title = response.css(html.title).get()
        found[f"html.title {html.title!r}"] = title
        if title and title.strip():
            labels["title"] = title.strip()
    if html.photos:
        photos = response.css(html.photos).getall()
        found[f"html.photos {html.photos!r}"] = photos
        if photos:
            labels["image_urls"] = photos
    labels["image_urls"] = [response.urljoin(u) for u in labels.get("image_urls") or []]
    return page

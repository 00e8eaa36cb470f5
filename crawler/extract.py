"""Label extraction helpers shared by all spiders (public: a spider subclass may use them).

JSON paths, JSON-LD and microdata Products, key/value pairs in any markup, prices, lists
and photo URL rules. :mod:`crawler.extract_pages` applies them as a profile says.

>>> dig({"photos": [{"url": "a"}, {"url": "b"}]}, "photos[].url")
['a', 'b']
>>> parse_price("50,00 €")
{'amount': '50.00', 'currency': 'EUR'}
>>> split_list("Navy, White", ", ")
['Navy', 'White']
>>> rewrite_photo_url("http://img/p/1.jpg?w=200&v=3", drop_query=["w"])
'http://img/p/1.jpg?v=3'
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bs4 import BeautifulSoup, Tag
from parsel import Selector

CURRENCIES = {"€": "EUR", "EUR": "EUR", "£": "GBP", "GBP": "GBP", "$": "USD", "USD": "USD"}
_AMOUNT = re.compile(r"(\d[\d\s\u202f\u00a0.]*(?:[.,]\d{1,2})?)")


def dig(obj: Any, path: str) -> Any:
    """Follow a dotted path; ``name[]`` maps the rest of the path over a list."""
    if not path:
        return obj
    head, _, rest = path.partition(".")
    if head.endswith("[]"):
        values = obj.get(head[:-2]) if isinstance(obj, dict) else None
        if not isinstance(values, list):
            return None
        return [found for v in values if (found := dig(v, rest)) is not None]
    value = obj.get(head) if isinstance(obj, dict) else None
    return dig(value, rest) if rest and value is not None else value


def parse_price(text: str | None) -> dict[str, str] | None:
    """A displayed price (``"1 250,00 €"``, ``"£12.50"``) as ``{amount, currency}``."""
    if not text:
        return None
    match = _AMOUNT.search(text)
    if match is None:
        return None
    number = re.sub(r"[\s\u202f\u00a0]", "", match.group(1))
    if re.search(r",\d{1,2}$", number):  # French decimals: the dot (if any) groups
        number = number.replace(".", "").replace(",", ".")
    else:
        number = number.replace(",", "")
    symbol = next((code for sign, code in CURRENCIES.items() if sign in text), None)
    return {"amount": f"{float(number):.2f}", "currency": symbol} if symbol else {"amount": number}


def jsonld_product(selector: Selector) -> dict[str, Any] | None:
    """The schema.org Product of a page; None when absent; ValueError when malformed."""
    for script in selector.css('script[type="application/ld+json"]::text').getall():
        try:
            data = json.loads(script)
        except json.JSONDecodeError as exc:
            raise ValueError(f"malformed JSON-LD ({exc.msg})") from exc
        for node in data if isinstance(data, list) else [data]:
            if isinstance(node, dict) and node.get("@type") == "Product":
                return node
    return None


def split_list(text: str | None, separator: str) -> list[str] | None:
    """A list label as shown (``"Navy, White"``) as its values; None when empty."""
    if not text:
        return None
    return [part.strip() for part in text.split(separator) if part.strip()]


def jsonld_labels(product: dict[str, Any], separator: str) -> dict[str, Any]:
    """Record fields from a schema.org Product (as the site wrote them)."""
    brand = product.get("brand")
    audience = product.get("audience")
    offers = product.get("offers")
    offer = offers[0] if isinstance(offers, list) and offers else offers
    labels: dict[str, Any] = {
        "title": product.get("name"),
        "brand": brand.get("name") if isinstance(brand, dict) else brand,
        "colors": split_list(product.get("color"), separator),
        "materials": split_list(product.get("material"), separator),
        "size": product.get("size"),
        "gender": audience.get("suggestedGender") if isinstance(audience, dict) else None,
    }
    if isinstance(offer, dict) and offer.get("price") is not None:
        labels["price"] = {"amount": str(offer["price"]), "currency": offer.get("priceCurrency")}
    image = product.get("image")
    labels["image_urls"] = [image] if isinstance(image, str) else image
    return {key: value for key, value in labels.items() if value not in (None, [], "")}


def as_field(field: str, text: str | None, separator: str) -> Any:
    """Text read off a page in the shape of a record field (lists split, prices parsed)."""
    if not text:
        return None
    if field in ("colors", "materials"):
        return split_list(text, separator)
    if field == "price":
        return parse_price(text)
    if field == "image_urls":
        return [text]
    return text


def _microdata_value(node: Tag) -> Any:
    if node.has_attr("content"):
        return node["content"]
    attribute = {"a": "href", "link": "href", "img": "src", "meta": "content", "data": "value"}
    name = attribute.get(node.name)
    if name and node.has_attr(name):
        return node[name]
    return node.get_text(" ", strip=True)


def _microdata_scope(scope: Tag) -> dict[str, Any]:
    found: dict[str, list[Any]] = {}

    def walk(node: Tag) -> None:
        for child in node.find_all(True, recursive=False):
            prop = child.get("itemprop")
            nested = child.has_attr("itemscope")
            if prop:
                value = _microdata_scope(child) if nested else _microdata_value(child)
                found.setdefault(str(prop), []).append(value)
            if not nested:  # a nested item's properties are its own
                walk(child)

    walk(scope)
    return {name: values[0] if len(values) == 1 else values for name, values in found.items()}


def microdata_product(soup: BeautifulSoup) -> dict[str, Any] | None:
    """The schema.org Product microdata of a page, shaped like JSON-LD (so
    :func:`jsonld_labels` reads both); None when the page has none.

    >>> page = BeautifulSoup('<div itemscope itemtype="https://schema.org/Product">'
    ...     '<h1 itemprop="name">Coat</h1><span itemprop="brand">Acme</span>'
    ...     '<div itemprop="offers" itemscope itemtype="https://schema.org/Offer">'
    ...     '<meta itemprop="price" content="12.50"><meta itemprop="priceCurrency" content="GBP">'
    ...     '</div></div>', "html.parser")
    >>> jsonld_labels(microdata_product(page), ", ")["price"]
    {'amount': '12.50', 'currency': 'GBP'}
    """
    scope = soup.find(True, attrs={"itemtype": re.compile(r"schema\.org/Product/?$")})
    return _microdata_scope(scope) if isinstance(scope, Tag) else None


def key_value_pairs(soup: BeautifulSoup, rows: str, key: str, value: str) -> list[tuple[str, str]]:
    """``(key, value)`` texts from any markup: in each ``rows`` element, the ``key`` and
    ``value`` matches zipped in order (``tr``/``th``/``td``, ``dl``/``dt``/``dd``, ``li``
    with two spans). Text is read as a visitor sees it, links and spans included."""
    pairs: list[tuple[str, str]] = []
    for row in soup.select(rows):
        keys = [k.get_text(" ", strip=True).rstrip(" :") for k in row.select(key)]
        values = [v.get_text(" ", strip=True) for v in row.select(value)]
        pairs.extend(zip(keys, values, strict=False))
    return pairs


def labels_from_pairs(
    pairs: Iterable[tuple[str, str]], fields: Mapping[str, str], separator: str
) -> dict[str, Any]:
    """Record fields from key/value pairs; keys not in ``fields`` are ignored.

    >>> labels_from_pairs([("Colour", "Navy, White"), ("Views", "3")], {"Colour": "colors"}, ", ")
    {'colors': ['Navy', 'White']}
    """
    labels: dict[str, Any] = {}
    for key, text in pairs:
        field = fields.get(key)
        value = as_field(field, text, separator) if field else None
        if value:
            labels[field] = value  # type: ignore[index]
    return labels


def rewrite_photo_url(
    url: str, drop_query: Iterable[str] = (), set_query: Mapping[str, str] | None = None
) -> str:
    """A photo URL with query parameters dropped or set (a thumbnail's size, say)."""
    parts = urlsplit(url)
    dropped = set(drop_query) | set(set_query or {})
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in dropped]
    query.extend((set_query or {}).items())
    return urlunsplit(parts._replace(query=urlencode(query)))

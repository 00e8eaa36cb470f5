"""Label extraction helpers shared by all spiders: JSON paths, JSON-LD, details tables, prices.

>>> dig({"photos": [{"url": "a"}, {"url": "b"}]}, "photos[].url")
['a', 'b']
>>> parse_price("50,00 €")
{'amount': '50.00', 'currency': 'EUR'}
"""

from __future__ import annotations

import json
import re
from typing import Any

from bs4 import BeautifulSoup
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


def _split(text: str | None, separator: str) -> list[str] | None:
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
        "colors": _split(product.get("color"), separator),
        "materials": _split(product.get("material"), separator),
        "size": product.get("size"),
        "gender": audience.get("suggestedGender") if isinstance(audience, dict) else None,
    }
    if isinstance(offer, dict) and offer.get("price") is not None:
        labels["price"] = {"amount": str(offer["price"]), "currency": offer.get("priceCurrency")}
    image = product.get("image")
    labels["image_urls"] = [image] if isinstance(image, str) else image
    return {key: value for key, value in labels.items() if value not in (None, [], "")}


def details_table(html: str, table: str, rows: dict[str, str], separator: str) -> dict[str, Any]:
    """Record fields from an irregular ``<th>label</th><td>value</td>`` table.

    Rows come in any order, some are missing, extra ones are ignored, values may be
    wrapped in links or spans: BeautifulSoup reads the text as a visitor sees it.
    """
    node = BeautifulSoup(html, "html.parser").select_one(table)
    if node is None:
        return {}
    labels: dict[str, Any] = {}
    for tr in node.find_all("tr"):
        th, td = tr.find("th"), tr.find("td")
        if th is None or td is None:
            continue
        field = rows.get(th.get_text(" ", strip=True).rstrip(" :"))
        value = td.get_text(" ", strip=True)
        if field is None or not value:
            continue
        if field in ("colors", "materials"):
            labels[field] = _split(value, separator)
        elif field == "price":
            labels[field] = parse_price(value)
        else:
            labels[field] = value
    return labels

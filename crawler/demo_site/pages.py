"""What the demo marketplace shows: HTML pages, the item JSON-LD and the JSON API.

Pure functions of listings and URLs, so the HTML, the JSON-LD and the API always
agree. The details table is irregular on purpose, like a real site's: rows in varying
order, missing rows for missing labels, extra rows, values wrapped in links or spans.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from html import escape
from typing import Any

from dataset.synthetic.universe import Listing

SITE_NAME = "Seconde Main (démo)"


def slugify(text: str) -> str:
    """``"Robe d'été kaki"`` -> ``"robe-d-ete-kaki"``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "article"


def item_path(listing: Listing) -> str:
    return f"/articles/{listing.item_id}-{slugify(listing.title)}"


def photo_urls(listing: Listing, image_base: str) -> list[str]:
    return [f"{image_base}/photos/{photo_id}.jpg" for photo_id in listing.photo_ids]


def price_text(amount: str) -> str:
    """``"50.00"`` -> ``"50,00 €"`` (French display)."""
    return amount.replace(".", ",") + " €"


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="fr"><head><meta charset="utf-8">'
        f"<title>{escape(title)} - {SITE_NAME}</title></head>\n<body>\n"
        f'<header><a href="/">{SITE_NAME}</a></header>\n<main>\n{body}\n</main>\n</body></html>\n'
    )


def home_page(categories: dict[str, str]) -> str:
    links = "\n".join(
        f'<li><a class="category" href="/catalogue/{slug}">{escape(slug)}</a></li>'
        for slug in categories
    )
    return _page("Catalogue", f"<h1>Toutes les catégories</h1>\n<ul>\n{links}\n</ul>")


def listing_page(
    slug: str, items: list[Listing], page: int, total_pages: int, per_page: int | None = None
) -> str:
    """A catalogue page; its page links keep the page size the visitor asked for."""
    size = "" if per_page is None else f"&amp;per_page={per_page}"
    cards = []
    for item in items:
        brand = f'<span class="brand">{escape(item.brand)}</span>' if item.brand else ""
        cards.append(
            '<div class="card">'
            f'<a class="item-card" href="{item_path(item)}">{escape(item.title)}</a> '
            f'{brand} <span class="price">{escape(price_text(item.price_amount))}</span> '
            f'<a class="seller" href="/membres/{escape(item.seller)}">{escape(item.seller)}</a>'
            "</div>"
        )
    nav = []
    if page > 1:
        nav.append(f'<a rel="prev" href="/catalogue/{slug}?page={page - 1}{size}">Précédent</a>')
    if page < total_pages:
        nav.append(f'<a rel="next" href="/catalogue/{slug}?page={page + 1}{size}">Suivant</a>')
    body = (
        f"<h1>{escape(slug)}</h1>\n<p>Page {page} sur {total_pages}</p>\n"
        + "\n".join(cards)
        + f'\n<nav class="pagination">{" ".join(nav)}</nav>'
    )
    return _page(slug, body)


def jsonld(listing: Listing, image_base: str) -> dict[str, Any]:
    """The schema.org Product of an item page; missing labels are left out."""
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": listing.title,
        "sku": listing.item_id,
        "image": photo_urls(listing, image_base),
        "offers": {
            "@type": "Offer",
            "price": listing.price_amount,
            "priceCurrency": listing.currency,
            "availability": "https://schema.org/InStock",
        },
    }
    if listing.brand:
        data["brand"] = {"@type": "Brand", "name": listing.brand}
    if listing.colors:
        data["color"] = ", ".join(listing.colors)
    if listing.materials:
        data["material"] = ", ".join(listing.materials)
    if listing.size:
        data["size"] = listing.size
    if listing.gender:
        data["audience"] = {"@type": "PeopleAudience", "suggestedGender": listing.gender}
    return data


def _detail_rows(listing: Listing) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    if listing.brand:
        rows.append(
            ("Marque", f'<a href="/marques/{slugify(listing.brand)}">{escape(listing.brand)}</a>')
        )
    if listing.size:
        rows.append(("Taille", escape(listing.size)))
    if listing.condition:
        rows.append(("État", f"<span>{escape(listing.condition)}</span>"))
    if listing.colors:
        rows.append(("Couleur", escape(", ".join(listing.colors))))
    if listing.materials:
        rows.append(("Matière", escape(", ".join(listing.materials))))
    if listing.gender:
        rows.append(("Genre", escape(listing.gender)))
    rows.append(("Prix", escape(price_text(listing.price_amount))))
    return rows


def item_page(listing: Listing, image_base: str, broken_jsonld: bool = False) -> str:
    data = json.dumps(jsonld(listing, image_base), ensure_ascii=False)
    if broken_jsonld:
        # A template bug as seen in the wild: the JSON is cut and a brace is missing.
        data = data[: len(data) // 2].rstrip("}")
    # Rows move around between items, and some items show extra rows.
    key = int(hashlib.blake2b(listing.item_id.encode(), digest_size=4).hexdigest(), 16)
    rows = _detail_rows(listing)
    shift = key % len(rows)
    rows = rows[shift:] + rows[:shift]
    if key % 3 == 0:
        rows.insert(key % len(rows), ("Vues", str(key % 500)))
    if key % 4 == 0:
        rows.append(("Emplacement", "France"))
    table = "\n".join(f"  <tr><th>{th}</th><td>{td}</td></tr>" for th, td in rows)
    photos = "\n".join(
        f'<img class="photo" src="{escape(url)}" alt="{escape(listing.title)}">'
        for url in photo_urls(listing, image_base)
    )
    body = (
        f'<script type="application/ld+json">{data}</script>\n'
        f"<h1>{escape(listing.title)}</h1>\n"
        f'<div class="photos">\n{photos}\n</div>\n'
        f'<table class="details">\n{table}\n</table>\n'
        f'<p>Vendu par <a class="seller" href="/membres/{escape(listing.seller)}">'
        f"{escape(listing.seller)}</a></p>"
    )
    return _page(listing.title, body)


def member_page(name: str) -> str:
    return _page(name, f"<h1>{escape(name)}</h1>\n<p>Profil du membre.</p>")


def not_found_page(path: str) -> str:
    return _page("Introuvable", f"<h1>Page introuvable</h1>\n<p>{escape(path)}</p>")


def api_item(listing: Listing, base: str, image_base: str) -> dict[str, Any]:
    return {
        "id": listing.item_id,
        "title": listing.title,
        "url": base + item_path(listing),
        "brand": listing.brand,
        "colors": listing.colors,
        "materials": listing.materials,
        "gender": listing.gender,
        "size": listing.size,
        "condition": listing.condition,
        "price": {"amount": listing.price_amount, "currency": listing.currency},
        "photos": [{"url": url} for url in photo_urls(listing, image_base)],
    }


def api_page(
    items: list[Listing], base: str, image_base: str, page: int, per_page: int, total: int
) -> dict[str, Any]:
    return {
        "items": [api_item(item, base, image_base) for item in items],
        "pagination": {
            "current_page": page,
            "total_pages": max(1, -(-total // per_page)),
            "per_page": per_page,
            "total_entries": total,
        },
    }


def robots_txt(crawl_delay: float) -> str:
    return f"User-agent: *\nCrawl-delay: {crawl_delay:g}\nDisallow: /membres/\n"

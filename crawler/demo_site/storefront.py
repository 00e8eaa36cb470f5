"""The storefront flavour of the demo site (``s2s-crawl demo-site --flavour storefront``).

The same listings as the marketplace flavour, shown the way many real shops are built
today: category pages are server-rendered app pages whose products sit as JSON in
``<script id="__NEXT_DATA__">`` with a cursor to the next page (no links in the HTML);
product pages carry schema.org microdata and attribute lists (``li`` with two spans, a
``dl``); photos come from a second host as thumbnails (``?w=240``); the words are
English; sold items answer 410 Gone; one budget covers both hosts (the site's
``page_rate``). Its profile is ``crawler/sites/storefront.yaml``.

Routes (pages host): ``/robots.txt``, ``/``, ``/c/<slug>[?cursor=TOKEN]``,
``/p/<id>-<words>``; (image host) ``/i/<item id>-<k>.jpg[?w=PIXELS]``.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from io import BytesIO
from pathlib import Path
from typing import Any, Protocol

import yaml
from PIL import Image
from pydantic import BaseModel, ConfigDict, ValidationError

from crawler.demo_site import pages
from crawler.demo_site.config import DemoSiteConfig
from crawler.demo_site.faults import Faults
from crawler.demo_site.server import Request, Response
from dataset.core.errors import UserError
from dataset.core.yamlio import pydantic_error
from dataset.synthetic.universe import DemoUniverse, Listing

WORDS_PATH = Path(__file__).with_name("storefront_words.yaml")
PRODUCT = re.compile(r"^/p/(\d+)(?:-[a-z0-9-]*)?$")
PHOTO = re.compile(r"^/i/(\d+-\d+)\.jpg$")
THUMBNAIL = 240  # side of the photos the pages link to; the full photo without ?w=
OFFSITE_PHOTO = "http://127.0.0.1:9/lookbook/{item_id}.jpg"  # a brand's, never to be fetched
SITE_NAME = "Threadline (demo storefront)"


class StorefrontWords(BaseModel):
    """French word of the marketplace flavour -> the storefront's English word."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    colour: dict[str, str]
    material: dict[str, str]
    gender: dict[str, str]
    condition: dict[str, str]
    size_units: dict[str, str]
    category: dict[str, tuple[str, str]]  # marketplace slug -> (storefront slug, noun)


@lru_cache(maxsize=1)
def load_words(path: Path = WORDS_PATH) -> StorefrontWords:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    try:
        return StorefrontWords.model_validate(raw)
    except ValidationError as exc:
        raise pydantic_error(str(path), exc, raw) from None


@dataclass(frozen=True)
class Product:
    """A listing as the storefront shows it."""

    listing: Listing
    slug: str
    title: str
    colors: list[str]
    materials: list[str]
    gender: str | None
    size: str | None
    condition: str | None

    @property
    def path(self) -> str:
        return f"/p/{self.listing.item_id}-{pages.slugify(self.title)}"


def _word(table: dict[str, str], word: str) -> str:
    if word not in table:
        raise UserError(f"{WORDS_PATH}: no English word for {word!r}")
    return table[word]


def product(listing: Listing, words: StorefrontWords) -> Product:
    slug, noun = words.category[listing.category]
    colors = [_word(words.colour, c) for c in listing.colors or []]
    size = listing.size
    if size:
        number, _, unit = size.partition(" ")
        size = f"{number} {words.size_units.get(unit, unit)}" if unit else size
    title = " ".join(x for x in (listing.brand, colors[0] if colors else None, noun) if x)
    return Product(
        listing=listing,
        slug=slug,
        title=title,
        colors=colors,
        materials=[_word(words.material, m) for m in listing.materials or []],
        gender=_word(words.gender, listing.gender) if listing.gender else None,
        size=size,
        condition=_word(words.condition, listing.condition) if listing.condition else None,
    )


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def decode_cursor(token: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return int(text[2:]) if text.startswith("o:") and text[2:].isdigit() else None


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)} | {SITE_NAME}</title></head>\n<body>\n{body}\n</body></html>\n"
    )


def category_page(slug: str, products: list[Product], next_cursor: str | None) -> str:
    """An app page: the products are only in the embedded JSON state."""
    state = {
        "props": {
            "pageProps": {
                "category": slug,
                "products": [
                    {
                        "id": int(p.listing.item_id),
                        "href": p.path,
                        "name": p.title,
                        "brand": p.listing.brand,
                        "thumbnail": f"/i/{p.listing.photo_ids[0]}.jpg?w={THUMBNAIL}",
                    }
                    for p in products
                ],
                "nextCursor": next_cursor,
            }
        },
        "page": "/c/[slug]",
        "buildId": "demo",
    }
    data = json.dumps(state, ensure_ascii=False).replace("</", "<\\/")
    return _page(
        slug,
        '<div id="__next"><div class="spinner">Loading…</div></div>\n'
        f'<script id="__NEXT_DATA__" type="application/json">{data}</script>',
    )


def product_page(item: Product, image_base: str) -> str:
    listing = item.listing
    photos = [f"{image_base}/i/{pid}.jpg?w={THUMBNAIL}" for pid in listing.photo_ids]
    if int(listing.item_id) % 5 == 0:  # the brand's lookbook shot, on another host
        photos.insert(0, OFFSITE_PHOTO.format(item_id=listing.item_id))
    images = "\n".join(f'<img itemprop="image" src="{escape(u)}" alt="">' for u in photos)
    brand = ""
    if listing.brand:
        brand = (
            '<div itemprop="brand" itemscope itemtype="https://schema.org/Brand">'
            f'<span itemprop="name">{escape(listing.brand)}</span></div>'
        )
    attributes = [("Colour", ", ".join(item.colors)), ("Material", ", ".join(item.materials))]
    attributes.append(("Department", item.gender or ""))
    rows = "\n".join(
        f'<li><span class="k">{k}</span><span class="v">{escape(v)}</span></li>'
        for k, v in attributes
        if v
    )
    fit = "".join(
        f"<dt>{k}</dt><dd>{escape(v)}</dd>"
        for k, v in (("Size", item.size), ("Condition", item.condition))
        if v
    )
    amount = listing.price_amount
    body = (
        '<main itemscope itemtype="https://schema.org/Product">\n'
        f'<h1 itemprop="name">{escape(item.title)}</h1>\n{brand}\n'
        f'<div class="gallery">\n{images}\n</div>\n'
        '<div itemprop="offers" itemscope itemtype="https://schema.org/Offer">'
        f'<span itemprop="price" content="{amount}">£{amount}</span>'
        '<meta itemprop="priceCurrency" content="GBP"></div>\n'
        f'<ul class="attributes">\n{rows}\n</ul>\n<dl class="fit">{fit}</dl>\n</main>'
    )
    return _page(item.title, body)


class Site(Protocol):
    """What the storefront uses of :class:`crawler.demo_site.app.DemoSite`."""

    config: DemoSiteConfig
    universe: DemoUniverse
    faults: Faults

    def photo(self, photo_id: str) -> bytes: ...

    def image_url_for(self, request: Request) -> str: ...

    def page_size(self, asked: int) -> int: ...


class Storefront:
    """The storefront's routes on a demo site (its universe, faults and photos)."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.words = load_words()
        self.by_slug = {slug: fr for fr, (slug, _) in self.words.category.items()}
        self._thumbnail = lru_cache(maxsize=site.config.photo_cache)(self._render_thumbnail)

    def routes(self) -> list[tuple[str, Any]]:
        return [
            ("/robots.txt", self.robots),
            ("/", self.home),
            ("/c/", self.category),
            ("/p/", self.product),
        ]

    def robots(self, request: Request) -> Response:
        text = (
            f"User-agent: *\nCrawl-delay: {self.site.config.crawl_delay:g}\nDisallow: /account/\n"
        )
        return Response(200, text.encode(), "text/plain; charset=utf-8")

    def home(self, request: Request) -> Response:
        links = "".join(f'<li><a href="/c/{slug}">{slug}</a></li>' for slug in self.by_slug)
        return Response(200, _page("Shop", f"<ul>{links}</ul>").encode())

    def _missing(self, status: int = 404) -> Response:
        text = "Sold" if status == 410 else "Not found"
        return Response(status, _page(text, f"<h1>{text}</h1>").encode())

    def category(self, request: Request) -> Response:
        slug = request.path.removeprefix("/c/").strip("/")
        if slug not in self.by_slug:
            return self._missing()
        token = request.query.get("cursor", [None])[0]
        offset = 0 if token is None else decode_cursor(token)
        listings = self.site.universe.listings(self.by_slug[slug])
        limit = request.number("limit", self.site.config.per_page)
        if offset is None or offset > len(listings) or limit is None:
            return self._missing()
        end = offset + self.site.page_size(limit)
        shown = [product(x, self.words) for x in listings[offset:end]]
        next_cursor = encode_cursor(end) if end < len(listings) else None
        return Response(200, category_page(slug, shown, next_cursor).encode())

    def _find(self, item_id: str) -> tuple[Listing | None, int]:
        """The listing and 200, or None and 404 (never existed) / 410 (sold)."""
        try:
            listing = self.site.universe.listing(item_id)
        except (KeyError, ValueError):
            return None, 404
        if listing.deleted or self.site.faults.hits("deleted", item_id):
            return None, 410
        return listing, 200

    def product(self, request: Request) -> Response:
        match = PRODUCT.match(request.path)
        listing, status = self._find(match.group(1)) if match else (None, 404)
        if listing is None:
            return self._missing(status)
        html = product_page(product(listing, self.words), self.site.image_url_for(request))
        headers = {"X-Robots-Tag": "noai"} if listing.noai else {}
        return Response(200, html.encode(), headers=headers)

    def _render_thumbnail(self, photo_id: str, side: int) -> bytes:
        full = self.site.photo(photo_id)
        if side >= self.site.config.photo_size:
            return full
        with Image.open(BytesIO(full)) as image:
            small = image.resize((side, side))
        out = BytesIO()
        small.save(out, "JPEG", quality=85)
        return out.getvalue()

    def photo(self, request: Request) -> Response:
        match = PHOTO.match(request.path)
        if match is None:
            return Response(404, b"not found", "text/plain")
        listing, status = self._find(match.group(1).rpartition("-")[0])
        if listing is None or match.group(1) not in listing.photo_ids:
            return Response(status if listing is None else 404, b"gone", "text/plain")
        width = request.query.get("w", [""])[0]
        side = int(width) if width.isdigit() and int(width) >= 16 else self.site.config.photo_size
        headers = {"Cache-Control": "public, max-age=86400"}
        if listing.noai:
            headers["X-Robots-Tag"] = "noimageai"
        return Response(200, self._thumbnail(match.group(1), side), "image/jpeg", headers)

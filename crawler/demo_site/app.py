"""The demo marketplace: a pages host and an image host (like a CDN) on two ports.

Two flavours: ``marketplace`` (French, JSON API, item pages with JSON-LD and a details
table) and ``storefront`` (:mod:`crawler.demo_site.storefront`: English app pages with
embedded JSON and cursors, microdata, one budget for both hosts, 410 for sold items).

>>> site = DemoSite(DemoSiteConfig(items_per_category=5))
>>> site.start()
>>> site.base_url.startswith("http://127.0.0.1:")
True
>>> site.stop()

Routes are the contract of docs/architecture.md ("Demo marketplace routes"). Every
request passes its host's token bucket (429 + Retry-After when over budget), then the
injected faults, then its route. Links in pages name the host the client used (its
Host header) unless ``base_url`` / ``image_base_url`` are configured, so the same site
works on loopback and behind a cluster Service.
"""

from __future__ import annotations

import io
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from functools import lru_cache
from http.server import ThreadingHTTPServer
from typing import Any

from PIL import Image

from crawler.demo_site import pages
from crawler.demo_site.config import DemoSiteConfig
from crawler.demo_site.faults import Faults
from crawler.demo_site.limits import TokenBucket
from crawler.demo_site.log import RequestLog
from crawler.demo_site.server import Request, Response, make_server
from crawler.demo_site.storefront import Storefront
from dataset.synthetic.universe import DemoUniverse, Listing

logger = logging.getLogger(__name__)

ARTICLE = re.compile(r"^/articles/(\d+)(?:-[a-z0-9-]*)?$")
PHOTO = re.compile(r"^/photos/(\d+-\d+)\.jpg$")
POLL_SECONDS = 0.05  # how often serve_forever checks for shutdown: a quick stop()
Route = Callable[[Request], Response]


def _html(text: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(status, text.encode("utf-8"), headers=headers or {})


def _json(obj: Any, status: int = 200) -> Response:
    body = json.dumps(obj, ensure_ascii=False).encode("utf-8")
    return Response(status, body, "application/json; charset=utf-8")


def _not_found(request: Request) -> Response:
    return _html(pages.not_found_page(request.path), 404)


class DemoSite:
    """Both hosts of the demo marketplace; ``start()`` serves them in background threads."""

    def __init__(self, config: DemoSiteConfig, universe: DemoUniverse | None = None) -> None:
        self.config = config
        self.universe = universe or DemoUniverse(config.seed, config.items_per_category)
        self.faults = Faults(config.seed, config.faults)
        self.log = RequestLog(config.request_log)
        self.stopped = False
        self.photo = lru_cache(maxsize=config.photo_cache)(self._render_photo)
        self._huge: bytes | None = None
        self._huge_lock = threading.Lock()
        # An exact path, or a prefix ending in "/" for a family of pages.
        self._page_routes: list[tuple[str, Route]] = [
            ("/robots.txt", self._robots),
            ("/", self._home),
            ("/catalogue/", self._catalogue),
            ("/articles/", self._article),
            ("/membres/", self._member),
            ("/api/v2/catalog/items", self._api),
        ]
        self._photo_route: Route = self._marketplace_photo
        self._buckets = {
            "pages": TokenBucket(config.page_rate),
            "images": TokenBucket(config.image_rate),
        }
        if config.flavour == "storefront":
            shop = Storefront(self)
            self._page_routes, self._photo_route = shop.routes(), shop.photo
            self._buckets["images"] = self._buckets["pages"]  # one budget for both hosts
        self._servers: dict[str, ThreadingHTTPServer] = {
            host: make_server(config.host, port, host, self.handle, self.log, self._is_stopped)
            for host, port in (("pages", config.port), ("images", config.image_port))
        }
        self._threads: list[threading.Thread] = []

    # URLs -----------------------------------------------------------------------
    def bound_url(self, host: str) -> str:
        """The address a listener is bound to (loopback when bound to every interface)."""
        address, port = self._servers[host].server_address[:2]
        shown = "127.0.0.1" if address in ("0.0.0.0", "") else address
        return f"http://{shown!s}:{port}"

    @property
    def base_url(self) -> str:
        return (self.config.base_url or self.bound_url("pages")).rstrip("/")

    @property
    def image_base_url(self) -> str:
        return (self.config.image_base_url or self.bound_url("images")).rstrip("/")

    def image_url_for(self, request: Request) -> str:
        """The image host's URL to write into an answer to ``request``."""
        return self._urls(request)[1]

    def _urls(self, request: Request) -> tuple[str, str]:
        """Base URLs to write into an answer: configured, else as the client named us."""
        base, image_base = self.base_url, self.image_base_url
        hostname = request.hostname
        if hostname is not None:
            if self.config.base_url is None:
                base = f"http://{request.host_header}"
            if self.config.image_base_url is None:
                image_base = f"http://{hostname}:{self._servers['images'].server_address[1]}"
        return base, image_base

    # Life cycle -------------------------------------------------------------------
    def start(self) -> None:
        for host, server in self._servers.items():
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": POLL_SECONDS},
                name=f"demo-site-{host}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)
        logger.info("demo site: pages %s images %s", self.base_url, self.image_base_url)

    def stop(self) -> None:
        self.stopped = True
        for server in self._servers.values():
            if self._threads:
                server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()
        self.log.close()

    def _is_stopped(self) -> bool:
        return self.stopped

    def __enter__(self) -> DemoSite:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # Requests ---------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        """Budget, then faults, then the route."""
        retry_after = self._buckets[request.host].take()
        if retry_after is not None:
            return _html("<h1>Trop de requêtes</h1>", 429, {"Retry-After": str(retry_after)})
        if request.path != "/robots.txt":
            if self.faults.first_try_fails(request.target):
                retry = str(self.config.faults.server_error_retry_after)
                return _html("<h1>Service indisponible</h1>", 503, {"Retry-After": retry})
            if self.faults.hits("slow", request.target):
                time.sleep(self.config.faults.slow_seconds)
        if request.method not in ("GET", "HEAD"):
            return _html("<h1>Méthode non autorisée</h1>", 405, {"Allow": "GET, HEAD"})
        if request.host == "images":
            return self._photo_route(request)
        path = request.path
        for prefix, route in self._page_routes:
            if path == prefix or (
                prefix != "/" and prefix.endswith("/") and path.startswith(prefix)
            ):
                return route(request)
        return _not_found(request)

    def _robots(self, request: Request) -> Response:
        text = pages.robots_txt(self.config.crawl_delay)
        return Response(200, text.encode(), "text/plain; charset=utf-8")

    def _home(self, request: Request) -> Response:
        return _html(pages.home_page(self.universe.categories))

    def page_size(self, asked: int) -> int:
        """Items on a page a visitor asked ``asked`` of: sites cap what one page holds."""
        return min(asked, self.config.max_per_page)

    def _slice(self, slug: str, page: int, per_page: int) -> tuple[list[Listing], int] | None:
        items = self.universe.listings(slug)
        total_pages = max(1, -(-len(items) // per_page))
        if page > total_pages:
            return None
        return items[(page - 1) * per_page : page * per_page], total_pages

    def _catalogue(self, request: Request) -> Response:
        slug = request.path.removeprefix("/catalogue/").strip("/")
        page = request.number("page", 1)
        asked = request.number("per_page", self.config.per_page)
        if slug not in self.universe.categories or page is None or asked is None:
            return _not_found(request)
        sliced = self._slice(slug, page, self.page_size(asked))
        if sliced is None:
            return _not_found(request)
        items, total_pages = sliced
        size = asked if "per_page" in request.query else None
        return _html(pages.listing_page(slug, items, page, total_pages, size))

    def _live(self, item_id: str) -> Listing | None:
        """The listing, unless it was deleted after being listed."""
        try:
            listing = self.universe.listing(item_id)
        except (KeyError, ValueError):
            return None
        if listing.deleted or self.faults.hits("deleted", item_id):
            return None
        return listing

    def _article(self, request: Request) -> Response:
        match = ARTICLE.match(request.path)
        listing = self._live(match.group(1)) if match else None
        if listing is None:
            return _not_found(request)
        broken = self.faults.hits("bad_jsonld", request.path)
        html = pages.item_page(listing, self._urls(request)[1], broken_jsonld=broken)
        return _html(html, headers={"X-Robots-Tag": "noai"} if listing.noai else None)

    def _member(self, request: Request) -> Response:
        name = request.path.removeprefix("/membres/").strip("/")
        return _html(pages.member_page(name)) if name else _not_found(request)

    def _api(self, request: Request) -> Response:
        slug = request.query.get("catalog", [""])[0]
        page = request.number("page", 1)
        per_page = request.number("per_page", self.config.per_page)
        if slug not in self.universe.categories:
            return _json({"error": f"unknown catalog {slug!r}"}, 404)
        if page is None or per_page is None:
            return _json({"error": "page and per_page must be numbers >= 1"}, 400)
        per_page = self.page_size(per_page)
        sliced = self._slice(slug, page, per_page)
        if sliced is None:
            return _json({"error": f"page {page} is past the end"}, 404)
        base, image_base = self._urls(request)
        total = len(self.universe.listings(slug))
        return _json(pages.api_page(sliced[0], base, image_base, page, per_page, total))

    def _render_photo(self, photo_id: str) -> bytes:
        return self.universe.render_listing_photo(photo_id, size=self.config.photo_size)

    def _huge_photo(self) -> bytes:
        """One grey JPEG of ``huge_image_side`` squared pixels: small on the wire, huge decoded."""
        with self._huge_lock:
            if self._huge is None:
                side = self.config.faults.huge_image_side
                buffer = io.BytesIO()
                Image.new("L", (side, side), 128).save(buffer, "JPEG", quality=75)
                self._huge = buffer.getvalue()
            return self._huge

    def _marketplace_photo(self, request: Request) -> Response:
        match = PHOTO.match(request.path)
        listing = self._live(match.group(1).rpartition("-")[0]) if match else None
        if match is None or listing is None or match.group(1) not in listing.photo_ids:
            return Response(404, b"not found", "text/plain")
        body = self.photo(match.group(1))
        if self.faults.hits("huge_image", request.path):
            body = self._huge_photo()
        if self.faults.hits("truncated_image", request.path):
            body = body[: len(body) // 2]
        headers = {"Cache-Control": "public, max-age=86400"}
        if listing.noai:
            headers["X-Robots-Tag"] = "noimageai"
        return Response(200, body, "image/jpeg", headers)

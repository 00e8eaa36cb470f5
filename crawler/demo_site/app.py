"""The demo marketplace server: a pages host and an image host on two loopback ports.

>>> site = DemoSite(DemoSiteConfig(items_per_category=5))
>>> site.start()
>>> site.base_url.startswith("http://127.0.0.1:")
True
>>> site.stop()

Routes are the contract of docs/architecture.md ("Demo marketplace routes"). Every
request passes the host's token bucket (429 + Retry-After when over budget), then the
injected faults, then the handler; each is written to the request log.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from crawler.demo_site import pages
from crawler.demo_site.config import DemoSiteConfig
from crawler.demo_site.faults import Faults
from crawler.demo_site.limits import TokenBucket
from crawler.demo_site.log import RequestLog
from dataset.synthetic.universe import DemoUniverse, Listing

logger = logging.getLogger(__name__)

ARTICLE = re.compile(r"^/articles/(\d+)(?:-[a-z0-9-]*)?$")
PHOTO = re.compile(r"^/photos/(\d+-\d+)\.jpg$")
MAX_API_PER_PAGE = 100
POLL_SECONDS = 0.05  # how often serve_forever checks for shutdown: a quick stop()


class Response:
    def __init__(
        self,
        status: int,
        body: bytes,
        content_type: str = "text/html; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = headers or {}


def _html(text: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(status, text.encode("utf-8"), headers=headers)


def _json(obj: Any, status: int = 200) -> Response:
    body = json.dumps(obj, ensure_ascii=False).encode("utf-8")
    return Response(status, body, "application/json; charset=utf-8")


def _not_found(path: str) -> Response:
    return _html(pages.not_found_page(path), 404)


def _page_number(query: dict[str, list[str]], name: str = "page", default: int = 1) -> int | None:
    raw = query.get(name, [str(default)])[0]
    return int(raw) if raw.isdigit() and int(raw) >= 1 else None


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up mid-answer (a crawler killed on purpose) is not news.
        logger.debug("demo site: connection from %s ended abruptly", client_address, exc_info=True)


class DemoSite:
    """Both hosts of the demo marketplace; ``start()`` serves them in background threads."""

    def __init__(self, config: DemoSiteConfig, universe: DemoUniverse | None = None) -> None:
        self.config = config
        self.universe = universe or DemoUniverse(config.seed, config.items_per_category)
        self.faults = Faults(config.seed, config.faults)
        self.log = RequestLog(config.request_log)
        self._buckets = {
            "pages": TokenBucket(config.page_rate),
            "images": TokenBucket(config.image_rate),
        }
        self._photo = lru_cache(maxsize=config.photo_cache)(self._render_photo)
        self._servers: dict[str, _Server] = {}
        self.stopped = False
        self._threads: list[threading.Thread] = []
        for host, port in (("pages", config.port), ("images", config.image_port)):
            self._servers[host] = _Server((config.host, port), _handler_for(self, host))

    # URLs -----------------------------------------------------------------
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

    # Life cycle ---------------------------------------------------------------
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

    def __enter__(self) -> DemoSite:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # Request handling ---------------------------------------------------------
    def handle(self, host: str, method: str, target: str) -> Response:
        retry_after = self._buckets[host].take()
        if retry_after is not None:
            headers = {"Retry-After": str(retry_after)}
            return _html("<h1>Trop de requêtes</h1>", 429, headers)
        path = urlsplit(target).path
        if path != "/robots.txt":
            if self.faults.first_try_fails(target):
                return _html("<h1>Service indisponible</h1>", 503, {"Retry-After": "1"})
            if self.faults.hits("slow", target):
                time.sleep(self.config.faults.slow_seconds)
        if method not in ("GET", "HEAD"):
            return _html("<h1>Méthode non autorisée</h1>", 405, {"Allow": "GET, HEAD"})
        route = self._image_route if host == "images" else self._page_route
        return route(target)

    def _page_route(self, target: str) -> Response:
        parts = urlsplit(target)
        path, query = parts.path, parse_qs(parts.query)
        for prefix, answer in self._routes:
            if path == prefix or (
                prefix.endswith("/") and prefix != "/" and path.startswith(prefix)
            ):
                return answer(path, query)
        return _not_found(path)

    @property
    def _routes(self) -> list[tuple[str, Callable[[str, dict[str, list[str]]], Response]]]:
        # An exact path, or a prefix ending in "/" for a family of pages.
        return [
            ("/robots.txt", lambda path, query: self._robots()),
            ("/", lambda path, query: _html(pages.home_page(self.universe.categories))),
            ("/catalogue/", self._catalogue),
            ("/articles/", lambda path, query: self._article(path)),
            ("/membres/", lambda path, query: self._member(path)),
            ("/api/v2/catalog/items", lambda path, query: self._api(query)),
        ]

    def _robots(self) -> Response:
        text = pages.robots_txt(self.config.crawl_delay)
        return Response(200, text.encode(), "text/plain; charset=utf-8")

    def _slice(self, slug: str, page: int, per_page: int) -> tuple[list[Listing], int] | None:
        items = self.universe.listings(slug)
        total_pages = max(1, -(-len(items) // per_page))
        if page > total_pages:
            return None
        return items[(page - 1) * per_page : page * per_page], total_pages

    def _catalogue(self, path: str, query: dict[str, list[str]]) -> Response:
        slug = path.removeprefix("/catalogue/").strip("/")
        page = _page_number(query)
        if slug not in self.universe.categories or page is None:
            return _not_found(path)
        sliced = self._slice(slug, page, self.config.per_page)
        if sliced is None:
            return _not_found(path)
        items, total_pages = sliced
        return _html(pages.listing_page(slug, items, page, total_pages))

    def _live(self, item_id: str) -> Listing | None:
        """The listing, unless it was deleted after being listed."""
        try:
            listing = self.universe.listing(item_id)
        except (KeyError, ValueError):
            return None
        if listing.deleted or self.faults.hits("deleted", item_id):
            return None
        return listing

    def _article(self, path: str) -> Response:
        match = ARTICLE.match(path)
        listing = self._live(match.group(1)) if match else None
        if listing is None:
            return _not_found(path)
        broken = self.faults.hits("bad_jsonld", path)
        html = pages.item_page(listing, self.image_base_url, broken_jsonld=broken)
        return _html(html, headers={"X-Robots-Tag": "noai"} if listing.noai else None)

    def _member(self, path: str) -> Response:
        name = path.removeprefix("/membres/").strip("/")
        return _html(pages.member_page(name)) if name else _not_found(path)

    def _api(self, query: dict[str, list[str]]) -> Response:
        slug = query.get("catalog", [""])[0]
        page = _page_number(query)
        per_page = _page_number(query, "per_page", self.config.per_page)
        if slug not in self.universe.categories:
            return _json({"error": f"unknown catalog {slug!r}"}, 404)
        if page is None or per_page is None or per_page > MAX_API_PER_PAGE:
            return _json({"error": f"page >= 1 and 1 <= per_page <= {MAX_API_PER_PAGE}"}, 400)
        sliced = self._slice(slug, page, per_page)
        if sliced is None:
            return _json({"error": f"page {page} is past the end"}, 404)
        items = sliced[0]
        total = len(self.universe.listings(slug))
        payload = pages.api_page(items, self.base_url, self.image_base_url, page, per_page, total)
        return _json(payload)

    def _render_photo(self, photo_id: str) -> bytes:
        return self.universe.render_listing_photo(photo_id, size=self.config.photo_size)

    def _image_route(self, target: str) -> Response:
        path = urlsplit(target).path
        match = PHOTO.match(path)
        listing = self._live(match.group(1).rpartition("-")[0]) if match else None
        if match is None or listing is None or match.group(1) not in listing.photo_ids:
            return Response(404, b"not found", "text/plain")
        body = self._photo(match.group(1))
        if self.faults.hits("truncated_image", path):
            body = body[: len(body) // 2]
        headers = {"Cache-Control": "public, max-age=86400"}
        if listing.noai:
            headers["X-Robots-Tag"] = "noimageai"
        return Response(200, body, "image/jpeg", headers)


def _handler_for(site: DemoSite, host: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "DemoMarketplace/1.0"

        def _serve(self, method: str) -> None:
            if site.stopped:
                # A keep-alive connection outliving stop(): drop it, as a dead server would.
                self.close_connection = True
                return
            try:
                response = site.handle(host, method, self.path)
            except Exception:  # a handler bug must answer 500, not hang the client
                logger.exception("demo site: %s %s failed", method, self.path)
                response = Response(500, b"internal error", "text/plain")
            # Logged before sending: once a client has its answer, the log has the line.
            site.log.write(
                host,
                method,
                self.path,
                response.status,
                len(response.body),
                self.headers.get("User-Agent", ""),
            )
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if method != "HEAD":
                self.wfile.write(response.body)

        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            self._serve("GET")

        def do_HEAD(self) -> None:  # noqa: N802
            self._serve("HEAD")

        def do_POST(self) -> None:  # noqa: N802
            # Read the body so the next request on this connection starts clean.
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._serve("POST")

        def log_message(self, format: str, *args: Any) -> None:
            # Access is logged to the JSONL request log; stderr stays quiet.
            return

    return Handler

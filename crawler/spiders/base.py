"""The base spider: walks a site profile's listing pages, builds records, keeps the ledger.

One crawl is one site and one category. In ``api`` mode each listing page of the JSON
API yields finished records (labels included), so the only other request per item is
its photo. In ``html`` mode listing pages link to item pages, whose labels come from the
details table (what a visitor reads) completed by the JSON-LD.

Politeness, opt-outs, photos and storage are not here: they are middlewares, pipelines
and feed exports switched on in :mod:`crawler.settings`. A marketplace needs a profile
(``crawler/sites/<site>.yaml``) and, for ``scrapy crawl <site>``, a three-line subclass.

    scrapy crawl demo -a category=robes -a mode=html -s S2S_STORE=./data
"""

from __future__ import annotations

import re
import secrets
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler import __version__, extract
from crawler.checks import check_settings
from crawler.ledger import Ledger
from crawler.middlewares.optout import OptedOut
from crawler.profiles import SiteProfile, load_profile, resolve_urls
from crawler.store_health import store_failed
from dataset.core.errors import UserError
from dataset.core.store import Store, open_store


def new_run_id() -> str:
    """Sortable by time, unique across pods: ``20260101T120000Z-1a2b``."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(2)


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


class MarketplaceSpider(scrapy.Spider):
    name = "marketplace"
    site = ""  # profile name; a subclass per site sets it (default: the spider name)

    profile: SiteProfile
    store: Store
    ledger: Ledger
    known_before: Counter[str]

    def __init__(
        self,
        category: str | None = None,
        site: str | None = None,
        mode: str | None = None,
        run_id: str | None = None,
        max_items: int | str | None = None,
        base_url: str | None = None,
        image_base_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        profile = load_profile(site or self.site or self.name)
        self.profile = resolve_urls(profile, base_url, image_base_url).with_mode(
            mode  # type: ignore[arg-type]
        )
        if mode not in (None, "api", "html"):
            raise UserError(f"mode is 'api' or 'html'. Received: mode={mode!r}")
        if not category:
            raise UserError(
                f"a category is needed (-a category=SLUG); known: {', '.join(profile.categories)}"
            )
        self.site = self.profile.name
        self.category = self.profile.check_category(category)
        self.mode = self.profile.mode
        self.run_id = run_id or new_run_id()
        self.max_items = int(max_items or 0)
        urls = (self.profile.base_url, self.profile.image_base_url or self.profile.base_url)
        self.allowed_domains = sorted({urlsplit(url).hostname or "" for url in urls})
        self.claimed = 0
        self.robots: dict[str, dict[str, Any]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> MarketplaceSpider:
        check_settings(crawler.settings)
        spider: MarketplaceSpider = super().from_crawler(crawler, *args, **kwargs)
        spider.store = open_store(crawler.settings["S2S_STORE"])
        spider.ledger = Ledger(spider.store, spider.site, spider.category)
        spider.known_before = spider.ledger.load()
        crawler.signals.connect(spider._robots_parsed, signal=signals.robots_parsed)
        crawler.signals.connect(spider._closed, signal=signals.spider_closed)
        return spider

    # Life cycle -------------------------------------------------------------------
    def _robots_parsed(self, robotparser: Any, request: Request) -> None:
        parts = urlsplit(request.url)
        if hasattr(robotparser, "provenance"):
            user_agent = self.crawler.settings.get("USER_AGENT")
            url = f"{parts.scheme}://{parts.netloc}/robots.txt"
            self.robots[parts.netloc] = robotparser.provenance(url, user_agent)

    def _closed(self, spider: scrapy.Spider) -> None:
        try:
            self.ledger.close(self.run_id)
        except Exception as exc:  # the skips are lost: the next run fetches those items again
            store_failed(self.crawler, "ledger", exc)

    def limit_reached(self) -> bool:
        return bool(self.max_items) and self.claimed >= self.max_items

    def claim(self, item_id: str) -> bool:
        """Whether to fetch this item: new to the ledger and within ``max_items``."""
        if self.limit_reached():
            return False
        if not self.ledger.claim(item_id):
            self.crawler.stats.inc_value("items/known")
            return False
        self.claimed += 1
        return True

    async def start(self) -> AsyncIterator[Any]:
        if self.mode == "api":
            yield Request(self.api_url(1), callback=self.parse_api, cb_kwargs={"page": 1})
        else:
            assert self.profile.html is not None
            url = self.profile.html.listing_url.format(
                base_url=self.profile.base_url, category=self.category
            )
            yield Request(url, callback=self.parse_listing)

    # Records ----------------------------------------------------------------------
    def build_record(
        self, labels: dict[str, Any], *, item_id: str, url: str, source_url: str
    ) -> dict[str, Any]:
        """One listing record (docs/architecture.md): raw labels as shown + provenance."""
        fetched_at = utc_now()
        pages_netloc = urlsplit(source_url).netloc
        record: dict[str, Any] = {
            "site": self.site,
            "item_id": item_id,
            "url": url,
            "category": self.category,
            "title": labels.get("title"),
            "brand": labels.get("brand"),
            "colors": labels.get("colors"),
            "materials": labels.get("materials"),
            "gender": labels.get("gender"),
            "size": labels.get("size"),
            "condition": labels.get("condition"),
            "price": labels.get("price"),
            "image_urls": list(labels.get("image_urls") or []),
            "images": [],
            "fetched_at": fetched_at,
            "crawler_version": __version__,
            "provenance": {
                "source_url": source_url,
                "fetched_at": fetched_at,
                "robots_rules": self.robots.get(pages_netloc),
            },
        }
        return record

    # API mode ---------------------------------------------------------------------
    def api_url(self, page: int) -> str:
        api = self.profile.api
        assert api is not None
        return api.listing_url.format(
            base_url=self.profile.base_url, category=self.category, page=page, per_page=api.per_page
        )

    def parse_api(self, response: Response, page: int) -> Iterator[Any]:
        assert isinstance(response, TextResponse), response.url
        api = self.profile.api
        assert api is not None
        try:
            data = response.json()
        except ValueError:
            self.crawler.stats.inc_value("listing/malformed")
            self.logger.warning("malformed JSON on listing page %s", response.url)
            return
        items = extract.dig(data, api.items) or []
        for raw in items:
            labels = {field: extract.dig(raw, path) for field, path in api.fields.items()}
            item_id = labels.get("item_id")
            if item_id in (None, ""):
                self.crawler.stats.inc_value("items/no_id")
                continue
            if self.claim(str(item_id)):
                url = labels.get("url") or response.url
                yield self.build_record(
                    labels, item_id=str(item_id), url=url, source_url=response.url
                )
        total = extract.dig(data, api.total_pages) if api.total_pages else None
        more = page < int(total) if total is not None else bool(items)
        if more and not self.limit_reached():
            yield Request(
                self.api_url(page + 1), callback=self.parse_api, cb_kwargs={"page": page + 1}
            )

    # HTML mode --------------------------------------------------------------------
    def parse_listing(self, response: Response) -> Iterator[Request]:
        assert isinstance(response, TextResponse), response.url
        html = self.profile.html
        assert html is not None
        for href in response.css(html.item_links).getall():
            url = response.urljoin(href)
            match = re.search(html.item_id, url)
            if match is None:
                self.crawler.stats.inc_value("items/no_id")
                continue
            if self.claim(match.group(1)):
                yield Request(
                    url,
                    callback=self.parse_item,
                    errback=self.item_failed,
                    cb_kwargs={"item_id": match.group(1)},
                    priority=1,  # finish the items of a page before the next page
                )
        next_page = response.css(html.next_page).get() if html.next_page else None
        if next_page and not self.limit_reached():
            yield response.follow(next_page, callback=self.parse_listing)

    def parse_item(self, response: Response, item_id: str) -> Iterator[dict[str, Any]]:
        assert isinstance(response, TextResponse), response.url
        html = self.profile.html
        assert html is not None
        labels: dict[str, Any] = {}
        if html.jsonld:
            try:
                product = extract.jsonld_product(response.selector)
            except ValueError as exc:
                self.crawler.stats.inc_value("items/jsonld_malformed")
                self.logger.info("%s: %s; reading the page instead", response.url, exc)
                product = None
            if product is not None:
                labels.update(extract.jsonld_labels(product, html.list_separator))
        if html.details_table:
            # The table is what a visitor reads: it wins where both speak.
            labels.update(
                extract.details_table(
                    response.text, html.details_table, html.details, html.list_separator
                )
            )
        title = response.css(html.title).get()
        if title:
            labels["title"] = title.strip()
        photos = [response.urljoin(url) for url in response.css(html.photos).getall()]
        if photos:
            labels["image_urls"] = photos
        yield self.build_record(labels, item_id=item_id, url=response.url, source_url=response.url)

    def item_failed(self, failure: Failure) -> None:
        item_id = failure.request.cb_kwargs["item_id"]  # type: ignore[attr-defined]
        if failure.check(OptedOut):
            self.ledger.skip(item_id, "noai")
            self.crawler.stats.inc_value("items/dropped/noai")
        elif isinstance(failure.value, HttpError) and failure.value.response.status in (404, 410):
            self.ledger.skip(item_id, "gone")
            self.crawler.stats.inc_value("items/dropped/gone")
        elif failure.check(IgnoreRequest):  # the crawl is stopping: the next run fetches it
            self.ledger.release(item_id)
        else:
            self.ledger.release(item_id)
            self.crawler.stats.inc_value("items/dropped/failed")
            self.logger.warning("item %s failed: %s", item_id, failure.getErrorMessage())

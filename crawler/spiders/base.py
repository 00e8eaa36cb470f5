"""The base spider: walks a site profile's listing pages, builds records, keeps the ledger.

One crawl is one site and one category. In ``api`` mode each listing page of the JSON
API yields finished records (labels included), so the only other request per item is
its photo. In ``html`` mode listing pages (links, or items as embedded JSON) lead to
item pages, whose labels come from JSON-LD, microdata, key/value lists and selectors.
Reading pages is :mod:`crawler.extract_pages`; a site no profile can describe overrides
the hooks :meth:`MarketplaceSpider.read_listing` and :meth:`MarketplaceSpider.read_item`
(README.md, "Escape hatch"). A first listing page without any item fails the category.

Politeness, opt-outs, photos and storage are not here: they are middlewares, pipelines
and feed exports switched on in :mod:`crawler.settings`. A marketplace needs a profile
(``crawler/sites/<site>.yaml``) and, for ``scrapy crawl <site>``, a three-line subclass.

    scrapy crawl demo -a category=robes -a mode=html -s S2S_STORE=./data
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timezone
from typing import Any, NoReturn
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider, IgnoreRequest
from scrapy.http import Request, Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler import __version__, extract
from crawler.checks import check_settings
from crawler.extract_pages import (
    ListingPage,
    api_page_url,
    read_api_page,
    read_html_listing,
    read_item_page,
)
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
        self.failed_because: str | None = None  # why the first listing page gave no item

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
            assert self.profile.api is not None
            url = api_page_url(self.profile.api, self.profile.base_url, self.category, 1)
        else:
            assert self.profile.html is not None
            url = self.profile.html.listing_url.format(
                base_url=self.profile.base_url, category=self.category
            )
        yield Request(
            url, callback=self.parse_listing, errback=self.listing_failed, cb_kwargs={"page": 1}
        )

    # Hooks: override these two for what no profile can say (README, "Escape hatch") --
    def read_listing(self, response: TextResponse, page: int) -> ListingPage:
        """The items of a listing page and the next page's URL, as the profile says."""
        if self.mode == "api":
            assert self.profile.api is not None
            try:
                data = response.json()
            except ValueError:
                reason = f"malformed JSON on listing page {response.url}"
                return ListingPage([], None, {"json": "malformed"}, reason)
            return read_api_page(
                self.profile.api,
                data,
                response.url,
                base_url=self.profile.base_url,
                category=self.category,
                page=page,
            )
        assert self.profile.html is not None
        return read_html_listing(
            self.profile.html, response, base_url=self.profile.base_url, category=self.category
        )

    def read_item(self, response: TextResponse, listed: dict[str, Any]) -> dict[str, Any]:
        """The labels of an item page (HTML mode) over ``listed``, those of its listing."""
        assert self.profile.html is not None
        page = read_item_page(self.profile.html, response, listed)
        if page.jsonld_error:
            self.crawler.stats.inc_value("items/jsonld_malformed")
            self.logger.info("%s: %s; reading the page instead", response.url, page.jsonld_error)
        return page.labels

    # Records ----------------------------------------------------------------------
    def build_record(
        self, labels: dict[str, Any], *, item_id: str, url: str, source_url: str
    ) -> dict[str, Any]:
        """One listing record (docs/architecture.md): raw labels as shown + provenance."""
        fetched_at = utc_now()
        pages_netloc = urlsplit(source_url).netloc
        rule = self.profile.photo_urls
        photos = [str(u) for u in labels.get("image_urls") or []]
        if rule is not None:
            photos = [extract.rewrite_photo_url(u, rule.drop_query, rule.set_query) for u in photos]
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
            "image_urls": photos,
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

    # Callbacks --------------------------------------------------------------------
    def parse_listing(self, response: Response, page: int = 1) -> Iterator[Any]:
        assert isinstance(response, TextResponse), response.url
        listing = self.read_listing(response, page)
        if listing.empty_because and page == 1:
            # A profile that reads nothing must not pass for an empty category.
            self.fail_category(f"first listing page: {listing.empty_because}")
        if listing.empty_because and (listing.items or "malformed" in listing.empty_because):
            # A later page unreadable (an empty one is the normal end): counted and said.
            self.crawler.stats.inc_value("listing/empty_pages")
            self.logger.warning("listing page %d: %s", page, listing.empty_because)
        for listed in listing.items:
            if listed.item_id is None:
                self.crawler.stats.inc_value("items/no_id")
                continue
            if not self.claim(listed.item_id):
                continue
            if self.mode == "api":
                url = listed.labels.get("url") or response.url
                yield self.build_record(
                    listed.labels, item_id=listed.item_id, url=url, source_url=response.url
                )
            elif listed.url is None:
                self.ledger.release(listed.item_id)
                self.crawler.stats.inc_value("items/no_url")
            else:
                yield Request(
                    listed.url,
                    callback=self.parse_item,
                    errback=self.item_failed,
                    cb_kwargs={"item_id": listed.item_id, "listed": listed.labels},
                    priority=1,  # finish the items of a page before the next page
                )
        if listing.next_url and not self.limit_reached():
            yield Request(
                listing.next_url,
                callback=self.parse_listing,
                errback=self.listing_failed,
                cb_kwargs={"page": page + 1},
            )

    def parse_item(
        self, response: Response, item_id: str, listed: dict[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        assert isinstance(response, TextResponse), response.url
        labels = self.read_item(response, listed or {})
        yield self.build_record(labels, item_id=item_id, url=response.url, source_url=response.url)

    def fail_category(self, reason: str) -> NoReturn:
        """Stop this category's crawl as failed, with one line saying why."""
        self.failed_because = reason
        self.logger.error("%s: %s", self.category, reason)
        self.crawler.stats.set_value("category/failed_because", reason)
        raise CloseSpider("empty_listing")

    def listing_failed(self, failure: Failure) -> None:
        page = failure.request.cb_kwargs.get("page", 1)  # type: ignore[attr-defined]
        url = failure.request.url  # type: ignore[attr-defined]
        if isinstance(failure.value, HttpError):
            problem = f"{url} answered {failure.value.response.status}"
        else:
            problem = f"{url} failed: {failure.getErrorMessage()}"
        if page == 1:
            self.fail_category(f"first listing page: {problem}")
        self.crawler.stats.inc_value("listing/failed")
        self.logger.warning("listing page %d: %s", page, problem)

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

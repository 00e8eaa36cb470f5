"""``s2s-crawl probe``: one listing page and one item through a profile, nothing stored.

Like ``scrapy parse``, for a profile: the same spider class, middlewares (robots.txt,
the budget) and page readers as a crawl, without the store, the ledger or photos. The
report says what every profile key found, the record a crawl would store and which of
its fields came out empty.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

from scrapy.crawler import Crawler
from scrapy.http import Request, Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.extract_pages import read_item_page
from crawler.profiles import RECORD_FIELDS, SiteProfile
from crawler.runner import spider_class

logger = logging.getLogger(__name__)


class ProbeMixin:
    """Turns a site's spider into a probe: first listing page, then one item, then stop."""

    report: dict[str, Any]
    item_url: str | None

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Any:
        item_url = kwargs.pop("item_url", None)
        spider = cls(*args, **kwargs)  # no store, no ledger: nothing is kept
        spider._set_crawler(crawler)  # type: ignore[attr-defined]
        spider.item_url = item_url
        spider.report = {"listing": None, "item": None, "record": None, "empty_fields": []}
        return spider

    async def start(self) -> AsyncIterator[Any]:
        async for request in super().start():  # type: ignore[misc]
            request.errback = self.probe_failed
            yield request

    def probe_failed(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        status = (
            failure.value.response.status
            if isinstance(failure.value, HttpError)
            else failure.getErrorMessage()
        )
        part = "item" if request.callback == self.parse_item else "listing"
        self.report[part] = {"url": request.url, "error": f"answered {status}"}

    def parse_listing(self, response: Response, page: int = 1) -> Iterator[Any]:
        assert isinstance(response, TextResponse), response.url
        listing = self.read_listing(response, page)  # type: ignore[attr-defined]
        self.report["listing"] = {
            "url": response.url,
            "status": response.status,
            "found": listing.found,
            "items": len(listing.items),
            "next_url": listing.next_url,
            "error": listing.empty_because,
        }
        first = next((x for x in listing.items if x.item_id), None)
        if self.mode == "api" and first is not None:  # type: ignore[attr-defined]
            url = first.labels.get("url") or response.url
            self._keep(self.build_record(  # type: ignore[attr-defined]
                first.labels, item_id=first.item_id, url=url, source_url=response.url
            ))  # fmt: skip
            return
        url = self.item_url or (first.url if first else None)
        if url:
            yield Request(
                url,
                callback=self.parse_item,
                errback=self.probe_failed,
                cb_kwargs={"item_id": first.item_id if first else "?", "listed": {}},
            )

    def parse_item(
        self, response: Response, item_id: str, listed: dict[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        assert isinstance(response, TextResponse), response.url
        html = self.profile.html  # type: ignore[attr-defined]
        if html is not None:
            found = read_item_page(html, response, listed).found
            self.report["item"] = {"url": response.url, "status": response.status, "found": found}
        labels = self.read_item(response, listed or {})  # type: ignore[attr-defined]
        self._keep(self.build_record(  # type: ignore[attr-defined]
            labels, item_id=item_id, url=response.url, source_url=response.url
        ))  # fmt: skip
        return iter(())

    def _keep(self, record: dict[str, Any]) -> None:
        self.report["record"] = record
        self.report["empty_fields"] = [
            name for name in RECORD_FIELDS if record.get(name) in (None, "", [], {})
        ]
        photos = record.get("image_urls") or []
        allowed = [u for u in photos if self.profile.allows_photo(u)]  # type: ignore[attr-defined]
        self.report["photo_to_fetch"] = allowed[0] if allowed else None
        self.report["photos_offsite"] = len(photos) - len(allowed)


def probe(
    profile: SiteProfile,
    category: str,
    *,
    item_url: str | None,
    rate: float,
    user_agent: str,
    log_level: str = "WARNING",
) -> dict[str, Any]:
    """Probe ``category`` of ``profile`` (flags already resolved); the report."""
    from scrapy.crawler import CrawlerProcess
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.setdict(
        {
            "S2S_RATE": rate,
            "S2S_PARALLELISM": 1,
            "USER_AGENT": user_agent,
            "LOG_LEVEL": log_level,
            "LOG_INSTALL_ROOT_HANDLER": False,
            "ITEM_PIPELINES": {},
            "FEEDS": {},
            "EXTENSIONS": {},
            "S2S_STORE": "",
        },
        priority="cmdline",
    )
    for handler in logging.getLogger().handlers:
        handler.setLevel(log_level)
    base = spider_class(profile.name, settings)
    probe_cls = type(f"Probe{base.__name__}", (ProbeMixin, base), {})
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(probe_cls)
    process.crawl(
        crawler,
        category=category,
        site=profile.name,
        mode=profile.mode,
        base_url=profile.base_url,
        image_base_url=profile.image_base_url,
        item_url=item_url,
    )
    process.start()
    report: dict[str, Any] = crawler.spider.report  # type: ignore[union-attr]
    report["requests"] = crawler.stats.get_value("downloader/request_count", 0)  # type: ignore[union-attr]
    report["robots_forbidden"] = crawler.stats.get_value("robotstxt/forbidden", 0)  # type: ignore[union-attr]
    return report

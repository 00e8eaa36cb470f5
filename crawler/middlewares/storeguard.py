"""No request leaves once a store write has failed: nothing it fetches could be kept.

Sits after the budget middleware, so a request that waited for its turn while the store
failed is refused too (the site's budget is not spent on it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.exceptions import IgnoreRequest

from crawler.store_health import STORE_FAILED

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Request
    from scrapy.statscollectors import StatsCollector


class StoreGuardMiddleware:
    def __init__(self, stats: StatsCollector) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StoreGuardMiddleware:
        assert crawler.stats is not None
        return cls(crawler.stats)

    def process_request(self, request: Request) -> None:
        if self.stats.get_value(STORE_FAILED):
            self.stats.inc_value("store/requests_refused")
            raise IgnoreRequest("the store failed: crawl stopping")

"""A tqdm bar of the records stored by a crawl (on when ``S2S_PROGRESS`` is true)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured
from tqdm import tqdm

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler


class Progress:
    def __init__(self, crawler: Crawler) -> None:
        if not crawler.settings.getbool("S2S_PROGRESS"):
            raise NotConfigured
        self.bar: tqdm[Any] | None = None
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Progress:
        return cls(crawler)

    def spider_opened(self, spider: Spider) -> None:
        total = getattr(spider, "max_items", 0) or None
        label = f"{getattr(spider, 'site', spider.name)}/{getattr(spider, 'category', '')}"
        self.bar = tqdm(total=total, desc=label, unit="item", leave=True)

    def item_scraped(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def spider_closed(self) -> None:
        if self.bar is not None:
            self.bar.close()

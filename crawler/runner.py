"""Run crawls in-process: one Scrapy crawler per category, sharing the site's budget.

:class:`CrawlPlan` is everything ``s2s-crawl run`` resolved from its flags, the
environment and the site profile, validated before any request; :func:`crawl` runs it
with Scrapy's ``CrawlerProcess`` (SIGTERM/SIGINT stop the crawls gracefully: requests in
flight finish, the last feed batch and the run stats are stored) and returns the run
summaries.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass
from typing import Any

from crawler.profiles import SiteProfile

logger = logging.getLogger(__name__)


@dataclass
class CrawlPlan:
    profile: SiteProfile
    categories: list[str]
    store: str
    rate: float  # requests/s per site host (per site: budget: site), all pods together
    parallelism: int
    user_agent: str
    max_items: int = 0
    batch_items: int = 50
    index: int | None = None  # JOB_COMPLETION_INDEX when one pod of an Indexed Job

    @property
    def share(self) -> float:
        return self.rate / self.parallelism

    def describe(self) -> dict[str, Any]:
        data = asdict(self)
        data["profile"] = {
            "name": self.profile.name,
            "mode": self.profile.mode,
            "base_url": self.profile.base_url,
            "image_base_url": self.profile.image_base_url,
        }
        data["share_per_host"] = self.share
        return data


def spider_class(site: str, settings: Any) -> type:
    """The site's own spider class if one is named after it, else the generic one."""
    from scrapy.spiderloader import SpiderLoader

    from crawler.spiders.base import MarketplaceSpider

    try:
        return SpiderLoader.from_settings(settings).load(site)
    except KeyError:
        return MarketplaceSpider


def crawl(
    plan: CrawlPlan, *, log_level: str = "WARNING", progress: bool = False
) -> list[dict[str, Any]]:
    """Crawl every category of ``plan`` at once; one run summary per category."""
    from scrapy.crawler import CrawlerProcess
    from scrapy.settings import Settings

    from crawler.spiders.base import new_run_id

    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    overrides: dict[str, Any] = {
        "S2S_STORE": plan.store,
        "S2S_RATE": plan.rate,
        "S2S_PARALLELISM": plan.parallelism,
        "USER_AGENT": plan.user_agent,
        "LOG_LEVEL": log_level,
        "S2S_PROGRESS": progress,
        "FEED_EXPORT_BATCH_ITEM_COUNT": plan.batch_items,
        "LOG_INSTALL_ROOT_HANDLER": False,  # the CLI's handler and -v level stay in charge
    }
    if os.environ.get("AWS_ENDPOINT_URL"):
        overrides["AWS_ENDPOINT_URL"] = os.environ["AWS_ENDPOINT_URL"]
    settings.setdict(overrides, priority="cmdline")
    for handler in logging.getLogger().handlers:
        handler.setLevel(log_level)
    process = CrawlerProcess(settings)
    spider_cls = spider_class(plan.profile.name, settings)
    run_id = new_run_id()
    crawlers = []
    for category in plan.categories:
        crawler = process.create_crawler(spider_cls)
        process.crawl(
            crawler,
            category=category,
            site=plan.profile.name,
            mode=plan.profile.mode,
            run_id=run_id,
            max_items=plan.max_items,
            base_url=plan.profile.base_url,
            image_base_url=plan.profile.image_base_url,
        )
        crawlers.append((category, crawler))
    process.start()
    summaries = []
    for category, crawler in crawlers:
        summary = getattr(crawler.spider, "run_summary", None)
        summaries.append(
            summary or {"category": category, "run_id": run_id, "status": "failed", "items": 0}
        )
    return summaries

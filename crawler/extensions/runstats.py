"""Per-run stats in the store: ``raw/<site>/<category>/runs/<run-id>.json``.

Written when the crawl starts (``status: running``, with the resolved configuration)
and again when its engine has stopped, once the last feed batch is stored:
``finished``, ``interrupted`` (SIGTERM/SIGINT) or ``failed`` with a ``failure``
``{kind, cause}``: ``store`` (a write failed: the crawl stopped at once),
``site_unreachable`` (not one response) or ``crawl``. A run killed outright (SIGKILL,
node lost) stays ``running`` until the next run of its category marks it
``interrupted`` (crawler/extensions/leftovers.py). ``s2s-crawl stats`` reads them.

When the store is what failed, the final stats go to a local file first
(``S2S_LOCAL_RUNS_DIR``, default the temporary folder; its path is logged), then to the
store if it takes them.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured

from crawler import __version__
from crawler.store_health import CLOSE_REASON, STORE_FAILED, one_line, store_failed

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

STATUS_BY_REASON = {"finished": "finished", "shutdown": "interrupted"}


def _utc() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def summarise(stats: dict[str, Any]) -> dict[str, Any]:
    """The figures of a run from Scrapy's stats (ours and its own)."""
    prefix = "downloader/response_status_count/"
    by_status = {k[len(prefix) :]: v for k, v in stats.items() if k.startswith(prefix)}
    dropped_prefix = "items/dropped/"
    return {
        "error": stats.get("category/failed_because"),
        "items": stats.get("item_scraped_count", 0),
        "skipped": {
            k[len(dropped_prefix) :]: v for k, v in stats.items() if k.startswith(dropped_prefix)
        },
        "known_items_seen": stats.get("items/known", 0),
        "optout": {"pages": stats.get("optout/pages", 0), "images": stats.get("optout/images", 0)},
        "requests": {
            "total": stats.get("downloader/request_count", 0),
            "pages": stats.get("budget/pages/requests", 0),
            "images": stats.get("budget/images/requests", 0),
            "by_status": dict(sorted(by_status.items())),
        },
        "bytes": stats.get("downloader/response_bytes", 0),
        "retries": stats.get("retry/count", 0) + stats.get("politeness/retries", 0),
        "throttled_429": stats.get("politeness/429", 0),
        "retry_after_waits": stats.get("politeness/retry_after_waits", 0),
        "photos_stored": stats.get("file_status_count/downloaded", 0),
        "photos_broken": stats.get("photos/broken", 0),
        "photos_offsite": stats.get("photos/offsite", 0),
        "photos_too_large": stats.get("photos/too_large", 0),
        "store_errors": {
            k.removeprefix("store/errors/"): v
            for k, v in stats.items()
            if k.startswith("store/errors/")
        },
        "requests_refused_after_store_failure": stats.get("store/requests_refused", 0),
        "jsonld_malformed": stats.get("items/jsonld_malformed", 0),
        "feed_batches_failed": sum(
            v for k, v in stats.items() if k.startswith("feedexport/failed_count/")
        ),
        "budget": {
            "site_rate": stats.get("budget/site_rate"),
            "share_per_host": stats.get("budget/share_per_host"),
            "parallelism": stats.get("budget/parallelism"),
        },
    }


class RunStats:
    def __init__(self, crawler: Crawler) -> None:
        if not crawler.settings.get("S2S_STORE"):
            raise NotConfigured
        self.crawler = crawler
        self.reason = "failed"
        self.started = 0.0
        self.started_at = ""
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(self.engine_stopped, signal=signals.engine_stopped)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunStats:
        return cls(crawler)

    def key(self, spider: Any) -> str:
        return f"raw/{spider.site}/{spider.category}/runs/{spider.run_id}.json"

    def header(self, spider: Any) -> dict[str, Any]:
        settings = self.crawler.settings
        return {
            "run_id": spider.run_id,
            "site": spider.site,
            "category": spider.category,
            "mode": spider.mode,
            "crawler_version": __version__,
            "started_at": self.started_at,
            "config": {
                "base_url": spider.profile.base_url,
                "image_base_url": spider.profile.image_base_url,
                "user_agent": settings.get("USER_AGENT"),
                "max_items": spider.max_items,
                "photos_per_item": settings.getint("S2S_PHOTOS_PER_ITEM"),
                "batch_items": settings.getint("FEED_EXPORT_BATCH_ITEM_COUNT"),
                "store": spider.store.uri,
            },
            "ledger_before": dict(spider.known_before),
        }

    def spider_opened(self, spider: Spider) -> None:
        if not hasattr(spider, "ledger"):
            return
        self.started = time.monotonic()
        self.started_at = _utc()
        try:
            spider.store.write_json(  # type: ignore[attr-defined]
                self.key(spider), {**self.header(spider), "status": "running"}
            )
        except Exception as exc:
            store_failed(self.crawler, "run stats", exc)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        self.reason = reason

    def engine_stopped(self) -> None:
        spider: Any = self.crawler.spider
        if not hasattr(spider, "ledger") or not self.started_at:
            return
        stats = self.crawler.stats.get_stats()
        figures = summarise(stats)
        status = STATUS_BY_REASON.get(self.reason, "failed")
        if self.reason.startswith("closespider_"):
            status = "finished"
        failure = failure_of(stats, self.reason, status)
        if failure:
            status = "failed"
        summary = {
            **self.header(spider),
            "status": status,
            "finish_reason": self.reason,
            "failure": failure,
            "finished_at": _utc(),
            "duration_s": round(time.monotonic() - self.started, 3),
            **figures,
            "robots": spider.robots,
        }
        spider.run_summary = summary
        key = self.key(spider)
        if stats.get(STORE_FAILED):
            self.write_locally(key, summary)
        try:
            spider.store.write_json(key, summary)
        except Exception as exc:  # the crawl's outcome must survive a store that is down
            logger.error("could not store run stats %s: %s", key, one_line(exc))
            if not stats.get(STORE_FAILED):
                self.write_locally(key, summary)

    def write_locally(self, key: str, summary: dict[str, Any]) -> None:
        folder = self.crawler.settings.get("S2S_LOCAL_RUNS_DIR") or Path(
            tempfile.gettempdir(), "s2s-runs"
        )
        path = Path(folder, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(summary, indent=2, default=str) + "\n")
        summary["local_stats"] = str(path)
        logger.error("run stats written locally: %s", path)


def failure_of(stats: dict[str, Any], reason: str, status: str) -> dict[str, str] | None:
    """Why a run failed (``kind``: store, site_unreachable, crawl), or None."""
    if stats.get(STORE_FAILED) or reason == CLOSE_REASON:
        return {"kind": "store", "cause": str(stats.get(STORE_FAILED))}
    if any(k.startswith("feedexport/failed_count/") for k in stats):
        return {"kind": "store", "cause": "a feed batch could not be stored"}
    if not stats.get("downloader/response_count") and stats.get("downloader/exception_count"):
        errors = sorted(
            k.rsplit("/", 1)[-1] for k in stats if k.startswith("downloader/exception_type_count/")
        )
        return {"kind": "site_unreachable", "cause": f"no response at all ({', '.join(errors)})"}
    if status == "failed":
        return {"kind": "crawl", "cause": f"finish reason {reason}"}
    return None

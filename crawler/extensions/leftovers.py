"""What a killed earlier run left behind, put right when the next run of a category starts.

A SIGKILL (OOM, node lost) gives a crawl no time to clean up: its atomic writes leave
temporary files (``.<name>.<random>.tmp``) and its stats stay ``running`` for ever. When
a crawl opens, before it writes anything:

- temporary files of its own category are deleted (one pod per category, so none is in
  use); those of the site's shared photo folder only when older than
  ``S2S_STALE_TEMPORARY_S`` (a parallel pod may be writing one right now);
- every earlier run of the category still ``running`` is marked ``interrupted``
  (``finish_reason: killed``): the Job runs one pod per category at a time.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy import signals

from crawler.store_health import one_line, store_failed

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class Leftovers:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stale_s = crawler.settings.getfloat("S2S_STALE_TEMPORARY_S")
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Leftovers:
        return cls(crawler)

    def spider_opened(self, spider: Any) -> None:
        if not hasattr(spider, "ledger"):
            return
        try:
            self._clean(spider)
        except Exception as exc:  # the store is what failed: stop, say it once
            store_failed(self.crawler, "leftovers", exc)

    def _clean(self, spider: Any) -> None:
        store, stats = spider.store, self.crawler.stats
        folder = f"raw/{spider.site}/{spider.category}/"
        removed = store.remove_stale_temporaries(folder)
        removed += store.remove_stale_temporaries(f"raw/{spider.site}/images/", self.stale_s)
        if removed:
            stats.set_value("leftovers/temporary_files_removed", removed)
            logger.info("removed %d temporary file(s) of killed writers", removed)
        for key in store.list(f"{folder}runs/"):
            if not key.endswith(".json") or key.endswith(f"/{spider.run_id}.json"):
                continue
            try:
                run = store.read_json(key)
            except Exception as exc:  # a damaged stats file is reported, not fatal
                logger.warning("%s: unreadable run stats: %s", key, one_line(exc))
                continue
            if isinstance(run, dict) and run.get("status") == "running":
                run.update(status="interrupted", finish_reason="killed", found_by=spider.run_id)
                store.write_json(key, run)
                stats.inc_value("leftovers/runs_marked_interrupted")
                logger.info("%s: a killed run, marked interrupted", key)

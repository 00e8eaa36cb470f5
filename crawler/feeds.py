"""Feed storage for ``store:<key>`` URIs: each JSONL batch goes through dataset.core.store.

Scrapy's feed exporter writes a batch to a temporary file and hands it here when it is
full (``FEED_EXPORT_BATCH_ITEM_COUNT``) or when the spider closes (SIGTERM included).
The upload is one atomic write (temporary file + rename locally, one PUT on S3, retried
on transient errors), so a reader never sees half a batch; then the batch's item ids go
to the ledger. A crawl killed mid-batch loses only that batch, never leaves part of it. A failed upload
stops the crawl (:mod:`crawler.store_health`).

    FEEDS = {"store:raw/%(site)s/%(category)s/items/%(run_id)s-%(batch_id)05d.jsonl": {...}}
"""

from __future__ import annotations

import tempfile
from pathlib import PurePosixPath
from typing import IO, TYPE_CHECKING, Any

from scrapy.extensions.feedexport import BlockingFeedStorage

from crawler.ledger import item_ids
from crawler.store_health import store_failed
from dataset.core.store import Store, open_store

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

SCHEME = "store:"


class StoreFeedStorage(BlockingFeedStorage):
    def __init__(
        self, uri: str, *, crawler: Crawler, feed_options: dict[str, Any] | None = None
    ) -> None:
        if not uri.startswith(SCHEME):
            raise ValueError(f"feed URI must start with {SCHEME!r}. Received: {uri!r}")
        self.key = uri[len(SCHEME) :]
        self.crawler = crawler

    @classmethod
    def from_crawler(
        cls, crawler: Crawler, uri: str, *, feed_options: dict[str, Any] | None = None
    ) -> StoreFeedStorage:
        return cls(uri, crawler=crawler, feed_options=feed_options)

    def open(self, spider: Any) -> IO[bytes]:
        # Unnamed (Scrapy's own is a named file): a crawl killed mid-batch leaves none behind.
        return tempfile.TemporaryFile(prefix="feed-", dir=self.crawler.settings["FEED_TEMPDIR"])

    def _store(self) -> Store:
        store = getattr(self.crawler.spider, "store", None)
        return store if store is not None else open_store(self.crawler.settings["S2S_STORE"])

    def _store_in_thread(self, file: IO[bytes]) -> None:
        file.seek(0)
        data = file.read()
        file.close()
        try:
            self._store().write_bytes(self.key, data)
            ledger = getattr(self.crawler.spider, "ledger", None)
            if ledger is not None:
                ledger.commit_batch(PurePosixPath(self.key).stem, item_ids(data))
        except Exception as exc:
            store_failed(self.crawler, "feed", exc)  # stops the crawl; the feed counts it too
            raise

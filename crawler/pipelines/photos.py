"""Listing photos into the store with Scrapy's ImagesPipeline (local folder or S3).

Photos land at ``raw/<site>/images/full/<sha1 of URL>.jpg`` (store-relative, the
record's ``images[].path``). Only the first ``S2S_PHOTOS_PER_ITEM`` photos of a listing
are fetched (``image_urls`` keeps them all): one photo per labelled item is what the
request budget buys best; photos on another host than the site's are skipped without a
request (``photos/offsite``). A photo already in the store is not fetched again.

A photo is stored only once it decodes completely, so a truncated JPEG never reaches
the store; local writes are atomic (temporary file + rename), S3 PUTs are by nature.
An item left without any stored photo is dropped and counted by reason: ``noai`` (the
photo opted out) and ``gone`` (404/410) are settled in the ledger; ``broken`` is not,
so a rerun tries again.
"""

from __future__ import annotations

import logging
import os
import tempfile
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from PIL import Image
from scrapy import Request
from scrapy.exceptions import DropItem
from scrapy.http.request import NO_CALLBACK
from scrapy.pipelines.files import FSFilesStore
from scrapy.pipelines.images import ImageException, ImagesPipeline
from scrapy.pipelines.media import FileInfoOrError, MediaPipeline

from crawler.middlewares.optout import OptedOut

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from twisted.python.failure import Failure

logger = logging.getLogger(__name__)


class PhotoSkipped(ImageException):
    """A photo that must not be stored; ``reason`` is the ledger outcome or ``broken``."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


class _QuietSkips(logging.Filter):
    """An expected skip (opted out, gone, truncated) is counted, not logged as a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], PhotoSkipped))


_QUIET_SKIPS = _QuietSkips()


class AtomicFSFilesStore(FSFilesStore):
    """FSFilesStore whose writes are atomic: a killed crawl never leaves half a photo.

    The pods of a parallel crawl share the photo folder: Scrapy's check-then-create of a
    folder races between processes (``FileExistsError`` loses the photo), so creating an
    existing folder is fine here.
    """

    def _mkdir(self, dirname: Path, domain: MediaPipeline.SpiderInfo | None = None) -> None:
        dirname.mkdir(parents=True, exist_ok=True)

    def persist_file(
        self,
        path: str | os.PathLike[str],
        buf: BytesIO,
        info: MediaPipeline.SpiderInfo,
        meta: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        target = self._get_filesystem_path(path)
        self._mkdir(target.parent, info)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(buf.getvalue())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def images_store_uri(store_uri: str) -> str:
    """IMAGES_STORE for a store URI: photo keys are then store-relative paths."""
    if store_uri.startswith("s3://"):
        return store_uri.rstrip("/") + "/"
    return str(Path(store_uri.removeprefix("file://")).expanduser().resolve())


class PhotosPipeline(ImagesPipeline):
    STORE_SCHEMES: ClassVar[dict[str, Any]] = {
        **ImagesPipeline.STORE_SCHEMES,
        "": AtomicFSFilesStore,
        "file": AtomicFSFilesStore,
    }

    def __init__(self, store_uri: str, *, crawler: Crawler) -> None:
        super().__init__(store_uri, crawler=crawler)
        self.per_item = crawler.settings.getint("S2S_PHOTOS_PER_ITEM")
        logging.getLogger("scrapy.pipelines.media").addFilter(_QUIET_SKIPS)  # once: a set

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PhotosPipeline:
        cls._update_stores(crawler.settings)
        uri = crawler.settings.get("IMAGES_STORE") or images_store_uri(
            crawler.settings["S2S_STORE"]
        )
        return cls(uri, crawler=crawler)

    def get_media_requests(self, item: Any, info: MediaPipeline.SpiderInfo) -> list[Request]:
        urls = item.get("image_urls") or []
        # An offsite photo is never requested (nor counted broken): the first allowed is used.
        profile = getattr(info.spider, "profile", None)
        allowed = [u for u in urls if profile is None or profile.allows_photo(u)]
        if len(allowed) < len(urls):
            self.crawler.stats.inc_value("photos/offsite", len(urls) - len(allowed))
        chosen = allowed[: self.per_item] if self.per_item > 0 else allowed
        return [Request(url, callback=NO_CALLBACK, meta={"s2s_photo": True}) for url in chosen]

    def file_path(
        self,
        request: Request,
        response: Response | None = None,
        info: MediaPipeline.SpiderInfo | None = None,
        *,
        item: Any = None,
    ) -> str:
        site = item["site"] if item is not None else info.spider.name  # type: ignore[union-attr]
        return f"raw/{site}/images/{super().file_path(request, response, info, item=item)}"

    def media_failed(
        self, failure: Failure, request: Request, info: MediaPipeline.SpiderInfo
    ) -> Any:
        # Errors of media_downloaded come through here too: keep their reason.
        if isinstance(failure.value, PhotoSkipped):
            raise failure.value
        if isinstance(failure.value, OptedOut):
            raise PhotoSkipped("noai", str(failure.value))
        return super().media_failed(failure, request, info)

    async def media_downloaded(
        self,
        response: Response,
        request: Request,
        info: MediaPipeline.SpiderInfo,
        *,
        item: Any = None,
    ) -> Any:
        if response.status in (404, 410):
            raise PhotoSkipped("gone", f"{response.status} {request.url}")
        if response.status == 200:
            try:
                with Image.open(BytesIO(response.body)) as image:
                    image.load()  # decodes every byte: a truncated JPEG fails here
            except Exception as exc:
                self.crawler.stats.inc_value("photos/broken")
                raise PhotoSkipped("broken", f"{request.url}: {exc}") from exc
        return await super().media_downloaded(response, request, info, item=item)

    def item_completed(
        self, results: list[FileInfoOrError], item: Any, info: MediaPipeline.SpiderInfo
    ) -> Any:
        stored = [
            {"url": x["url"], "path": x["path"], "checksum": x["checksum"]}
            for ok, x in results
            if ok and isinstance(x, dict)
        ]
        if stored:
            item["images"] = stored
            return item
        reasons = [
            getattr(getattr(x, "value", None), "reason", "broken") for ok, x in results if not ok
        ]
        reason = next((r for r in ("noai", "gone") if r in reasons), "broken")
        if not results:
            reason = "no_photo"
        self.crawler.stats.inc_value(f"items/dropped/{reason}")
        ledger = getattr(info.spider, "ledger", None)
        if ledger is not None:
            if reason in ("noai", "gone", "no_photo"):
                ledger.skip(item["item_id"], reason)
            else:
                ledger.release(item["item_id"])
        raise DropItem(f"item {item['item_id']}: no photo stored ({reason})", log_level="INFO")

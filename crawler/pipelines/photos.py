"""Listing photos into the store with Scrapy's ImagesPipeline (local folder or S3).

Photos land at ``raw/<site>/images/full/<sha1 of URL>.jpg`` (store-relative, the
record's ``images[].path``). Only the first ``S2S_PHOTOS_PER_ITEM`` photos of a listing
are fetched (``image_urls`` keeps them all): one photo per labelled item is what the
request budget buys best; photos on another host than the site's are skipped without a
request (``photos/offsite``). A photo already in the store is not fetched again.

A photo is stored only once it decodes completely, so a truncated JPEG never reaches
the store; local writes are atomic (temporary file + rename), S3 PUTs are by nature.
Memory is bounded before any decoding: a photo above ``S2S_PHOTO_MAX_BYTES`` is not
even downloaded (the download is cut), one above ``S2S_PHOTO_MAX_PIXELS`` (read from its
header) is not decoded. An item left without any stored photo is dropped and counted by
reason: ``noai`` (the photo opted out), ``gone`` (404/410) and ``too_large`` are settled
in the ledger, so no rerun fetches them again; ``broken`` and ``store`` (the store
failed, see :mod:`crawler.store_health`) are not, so a rerun tries again.
"""

from __future__ import annotations

import logging
import os
import warnings
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from PIL import Image
from scrapy import Request
from scrapy.exceptions import DownloadCancelledError, DropItem, IgnoreRequest
from scrapy.http.request import NO_CALLBACK
from scrapy.pipelines.files import FSFilesStore
from scrapy.pipelines.images import ImageException, ImagesPipeline
from scrapy.pipelines.media import FileInfoOrError, MediaPipeline

from crawler.middlewares.optout import OptedOut
from crawler.store_health import STORE_FAILED, store_failed
from dataset.core.store import write_file_atomically

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
        write_file_atomically(self._get_filesystem_path(path), buf.getvalue())


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
        self.max_pixels = crawler.settings.getint("S2S_PHOTO_MAX_PIXELS")
        self.max_bytes = crawler.settings.getint("S2S_PHOTO_MAX_BYTES")
        for name in ("scrapy.pipelines.media", "scrapy.pipelines.files"):
            logging.getLogger(name).addFilter(_QUIET_SKIPS)  # once: a set

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
        # download_maxsize: Scrapy cuts the download (by Content-Length, or once more
        # bytes arrived), so an oversized photo never sits in memory whole.
        meta = {"s2s_photo": True, "download_maxsize": self.max_bytes}
        return [Request(url, callback=NO_CALLBACK, meta=dict(meta)) for url in chosen]

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
        # Content-Length above the limit. A body cut while streaming (no Content-Length)
        # ends as a bare CancelledError, which timeouts share: left unsettled (broken).
        if isinstance(failure.value, DownloadCancelledError):
            self.crawler.stats.inc_value("photos/too_large")
            raise PhotoSkipped("too_large", f"{request.url}: more than {self.max_bytes} bytes")
        if isinstance(failure.value, IgnoreRequest) and self.crawler.stats.get_value(STORE_FAILED):
            raise PhotoSkipped("store", f"{request.url}: not fetched, the store failed")
        return super().media_failed(failure, request, info)

    def _check_pixels(self, body: bytes, url: str) -> None:
        """Refuse a photo above the pixel limit from its header, before decoding it."""
        with warnings.catch_warnings():
            # Our limit replaces PIL's global one (a warning, then an error at twice it).
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            try:
                with Image.open(BytesIO(body)) as image:
                    width, height = image.size
            except Image.DecompressionBombError:
                width, height = self.max_pixels + 1, 1
            except Exception:
                return  # not an image: the full decode below names the reason
        if width * height > self.max_pixels:
            self.crawler.stats.inc_value("photos/too_large")
            raise PhotoSkipped(
                "too_large", f"{url}: {width}x{height} is more than {self.max_pixels} pixels"
            )

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
            self._check_pixels(response.body, request.url)
            try:
                with Image.open(BytesIO(response.body)) as image:
                    image.load()  # decodes every byte: a truncated JPEG fails here
            except Exception as exc:
                self.crawler.stats.inc_value("photos/broken")
                raise PhotoSkipped("broken", f"{request.url}: {exc}") from exc
        return await super().media_downloaded(response, request, info, item=item)

    async def file_downloaded(
        self,
        response: Response,
        request: Request,
        info: MediaPipeline.SpiderInfo,
        *,
        item: Any = None,
    ) -> str:
        try:
            return str(await super().file_downloaded(response, request, info, item=item))
        except PhotoSkipped:
            raise
        except Exception as exc:  # the photo decoded: what failed is storing it
            store_failed(self.crawler, "photo", exc)
            raise PhotoSkipped("store", f"{request.url}: {exc}") from exc

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
        reason = next((r for r in ("noai", "gone", "too_large", "store") if r in reasons), "broken")
        if not results:
            reason = "no_photo"
        self.crawler.stats.inc_value(f"items/dropped/{reason}")
        ledger = getattr(info.spider, "ledger", None)
        if ledger is not None:
            if reason in ("noai", "gone", "no_photo", "too_large"):
                ledger.skip(item["item_id"], reason)
            else:
                ledger.release(item["item_id"])
        raise DropItem(f"item {item['item_id']}: no photo stored ({reason})", log_level="INFO")

"""The store's health during a crawl: waited for at start-up, watched on every write.

A crawl whose store cannot be written must not go on spending the site's budget on
photos it cannot keep, nor end as ``finished`` with nothing stored. So:

- at start-up, :func:`wait_for_store` retries an unreachable store with back-off for a
  bounded time (a store restarting, a network not yet up), then gives up with
  :class:`~dataset.core.errors.StoreUnreachable` (exit 75: the Job retries);
- mid-crawl, every failed write calls :func:`store_failed`: the first one stops the
  crawl (the spider closes with ``store_failed`` and
  :class:`~crawler.middlewares.storeguard.StoreGuardMiddleware` lets no request out),
  and each kind of failure is logged once, as one line, then only counted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dataset.core.errors import StoreUnreachable

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from dataset.core.store import Store

logger = logging.getLogger(__name__)

STORE_FAILED = "store/failed"  # stats key: the first failure, one line
CLOSE_REASON = "store_failed"  # the spider's finish_reason
_lock = threading.Lock()


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300]}" if text else type(exc).__name__


def wait_for_store(
    store: Store,
    wait_s: float,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """``store.check()``, retried with back-off while the store is unreachable.

    Bad input (a missing bucket, no credentials) is not retried: it raises at once.
    """
    deadline = clock() + wait_s
    delay = 1.0
    while True:
        try:
            store.check()
            return
        except StoreUnreachable as exc:
            left = deadline - clock()
            if left <= 0:
                raise StoreUnreachable(f"{exc}; gave up after {wait_s:g} s") from None
            pause = min(delay, left)
            logger.warning("store unreachable, retrying in %.1f s: %s", pause, exc)
            sleep(pause)
            delay = min(delay * 2, 30.0)


def store_failed(crawler: Crawler, where: str, exc: BaseException) -> None:
    """Record a failed store write; the first one stops the crawl. Any thread may call it."""
    stats = crawler.stats
    assert stats is not None
    with _lock:
        key = f"store/errors/{where}"
        stats.inc_value(key)
        new_kind = stats.get_value(key) == 1
        first = stats.get_value(STORE_FAILED) is None
        if first:
            stats.set_value(STORE_FAILED, f"{where}: {one_line(exc)}")
    exc.s2s_reported = True  # type: ignore[attr-defined]
    _install_quiet_tracebacks()
    if new_kind:
        logger.error("store write failed (%s): %s", where, one_line(exc))
    if first:
        logger.error("stopping the crawl: nothing more can be stored")
        from twisted.internet import reactor

        reactor.callFromThread(_close_spider, crawler)  # type: ignore[attr-defined]


def _close_spider(crawler: Crawler) -> Any:
    from scrapy.utils.defer import deferred_from_coro

    engine = crawler.engine
    if engine is None or engine.spider is None:
        return None
    return deferred_from_coro(engine.close_spider_async(reason=CLOSE_REASON))


class _ReportedOnce(logging.Filter):
    """Scrapy logs a failed feed upload with its traceback: the one line above is enough."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and getattr(record.exc_info[1], "s2s_reported", False):
            record.exc_info = None
            record.exc_text = None
        return True


_REPORTED_ONCE = _ReportedOnce()


def _install_quiet_tracebacks() -> None:
    logging.getLogger("scrapy.extensions.feedexport").addFilter(_REPORTED_ONCE)  # a set: once

"""Request budgets per site host: pacing, Crawl-delay, Retry-After and back-off on 429s.

Each site has two budgets, ``pages`` (the site's own host) and ``images`` (any other
host: the CDN), or, when its profile says ``budget: site``, one budget for both: then
the rate covers all its hosts together and a 429 from either pauses both. ``S2S_RATE``
is the site's budget per host (or per site) in requests/s for all pods of a parallel
crawl together; each pod takes ``S2S_RATE / S2S_PARALLELISM``. Requests leave
one at a time, paced so that no sliding one-second window ever holds more than the
share (with ``S2S_BUDGET_MARGIN`` seconds to spare for network jitter), so N pods
together never exceed the rate a server measures.

Scrapy only retries a 429 immediately; here a 429 (or a 503 with ``Retry-After``) pauses
the whole host for the time the server asked, each further 429 doubles the spacing
(``S2S_BACKOFF_FACTOR``, up to ``S2S_BACKOFF_MAX``), and ``S2S_BACKOFF_RECOVERY``
answers in a row halve it again. The pause is shared by every request of the host,
including those already waiting.

The middleware sits last before the downloader, so its pacing is what the wire sees.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import time
from collections import deque
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured

from dataset.core.errors import UserError

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response

logger = logging.getLogger(__name__)

MAX_SLEEP = 1.0  # seconds between looks at a shutdown while waiting (a long Retry-After)
# Shortest gap, as a share of the mean one: quick enough to make up for a late request,
# not so quick that requests bunch (bunched requests meet more jitter on the way out).
CATCH_UP = 0.75


class HostBudget:
    """One host's budget: at most ``rate`` requests in any one-second window.

    A request leaves at least ``1 + margin`` seconds after the n-th one before it (n = the
    rate) and never sooner than ``CATCH_UP`` of the mean spacing after the last: one held
    up by a busy crawler is followed by quicker ones until the window is full again, so
    delays do not pile up into an unused budget. Below two requests a second, while
    backing off, or when the site asks for a ``Crawl-delay``, requests are spaced evenly
    by ``interval``.

    >>> HostBudget(2.0, margin=0.05).interval
    0.525
    >>> HostBudget(0.5).interval  # below one request a second: plain spacing
    2.0
    """

    def __init__(
        self,
        rate: float,
        margin: float = 0.05,
        backoff_factor: float = 2.0,
        backoff_max: float = 16.0,
        recovery: int = 20,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be > 0. Received: rate={rate}")
        self.rate = rate
        self.margin = margin
        window = max(1, math.floor(rate))  # requests per window of 1 + margin s
        # (1 + margin) / n apart on average; below one request a second, 1 / rate is
        # already the stricter spacing.
        self.base_interval = max((1.0 + margin) / window, 1.0 / rate)
        self.crawl_delay = 0.0
        self.factor = 1.0
        self.backoff_factor = backoff_factor
        self.backoff_max = backoff_max
        self.recovery = recovery
        self._sent: deque[float] = deque(maxlen=window)
        self._not_before = 0.0
        self._ok_in_a_row = 0
        self._lock: asyncio.Lock | None = None

    @property
    def interval(self) -> float:
        return max(self.base_interval, self.crawl_delay) * self.factor

    def _earliest(self) -> float:
        """When the next request may leave, from the send times kept."""
        if not self._sent:
            return self._not_before
        last = self._sent[-1]
        evenly = self.rate < 2 or self.factor > 1.0 or self.crawl_delay > 0
        if evenly:
            turn = last + self.interval
        else:
            turn = last + self.base_interval * CATCH_UP
            if len(self._sent) == self._sent.maxlen:
                turn = max(turn, self._sent[0] + 1.0 + self.margin)
        return max(turn, self._not_before)

    async def acquire(self, stopping: Callable[[], bool] = lambda: False) -> float | None:
        """Wait for this host's next turn; the seconds waited, or None if ``stopping()``."""
        if self._lock is None:
            self._lock = asyncio.Lock()  # created in the running loop, FIFO-fair
        start = time.monotonic()
        async with self._lock:
            # A pause (Retry-After) can arrive while we sleep: check again after waking.
            while (wait := self._earliest() - time.monotonic()) > 0:
                if stopping():
                    return None
                await asyncio.sleep(min(wait, MAX_SLEEP))
            if stopping():
                return None
            self._sent.append(time.monotonic())
        return time.monotonic() - start

    def pause(self, seconds: float) -> None:
        self._not_before = max(self._not_before, time.monotonic() + seconds)

    def throttled(self) -> None:
        self._ok_in_a_row = 0
        self.factor = min(self.backoff_max, self.factor * self.backoff_factor)

    def succeeded(self) -> None:
        if self.factor <= 1.0:
            return
        self._ok_in_a_row += 1
        if self._ok_in_a_row >= self.recovery:
            self._ok_in_a_row = 0
            self.factor = max(1.0, self.factor / self.backoff_factor)


# Crawls of several categories in one process share their site's budgets.
_SHARED: dict[tuple[str, str, float], HostBudget] = {}


def shared_budget(site: str, host: str, rate: float, **options: Any) -> HostBudget:
    key = (site, host, rate)
    if key not in _SHARED:
        _SHARED[key] = HostBudget(rate, **options)
    return _SHARED[key]


def retry_after_seconds(value: bytes | str | None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date), or None if absent/bad.

    >>> retry_after_seconds(b"3"), retry_after_seconds(None), retry_after_seconds("soon")
    (3.0, None, None)
    """
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        return max(0.0, parsedate_to_datetime(text).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _given_or_env(value: Any, env: str) -> str | None:
    if value not in (None, ""):
        return str(value)
    return os.environ.get(env) or None


def resolve_rate(rate: Any, parallelism: Any, default_rate: float) -> tuple[float, int]:
    """The site's budget per host and the pods sharing it: the given values (flags or
    settings), else ``S2S_RATE`` / ``S2S_PARALLELISM`` from the environment (an Indexed
    Job's pod), else the profile's rate and one pod."""
    raw_rate = _given_or_env(rate, "S2S_RATE")
    raw_parallelism = _given_or_env(parallelism, "S2S_PARALLELISM")
    try:
        resolved_rate = float(raw_rate) if raw_rate is not None else default_rate
    except ValueError:
        raise UserError(f"S2S_RATE must be a number. Received: S2S_RATE={raw_rate!r}") from None
    try:
        pods = int(raw_parallelism) if raw_parallelism is not None else 1
    except ValueError:
        raise UserError(
            f"S2S_PARALLELISM must be a number. Received: S2S_PARALLELISM={raw_parallelism!r}"
        ) from None
    if not (resolved_rate > 0 and pods >= 1):
        raise UserError(
            f"--rate must be > 0 and --parallelism >= 1. Received: rate={resolved_rate}, "
            f"parallelism={pods}"
        )
    return resolved_rate, pods


def site_share(settings: Any, default_rate: float) -> tuple[float, float, int]:
    """(site rate per host, this pod's share, parallelism) from settings, env, profile."""
    rate, parallelism = resolve_rate(
        settings.get("S2S_RATE"), settings.get("S2S_PARALLELISM"), default_rate
    )
    return rate, rate / parallelism, parallelism


class BudgetMiddleware:
    RETRY_COUNT_KEY = "s2s_polite_retries"

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        if not settings.getbool("S2S_BUDGET_ENABLED"):
            raise NotConfigured
        self.crawler = crawler
        self.stats = crawler.stats
        self.options = {
            "margin": settings.getfloat("S2S_BUDGET_MARGIN"),
            "backoff_factor": settings.getfloat("S2S_BACKOFF_FACTOR"),
            "backoff_max": settings.getfloat("S2S_BACKOFF_MAX"),
            "recovery": settings.getint("S2S_BACKOFF_RECOVERY"),
        }
        self.default_retry_after = settings.getfloat("S2S_RETRY_AFTER_DEFAULT")
        self.max_retry_after = settings.getfloat("S2S_RETRY_AFTER_MAX")
        self.max_retries = settings.getint("S2S_POLITE_RETRIES")
        self.user_agent = settings.get("USER_AGENT")
        self.budgets: dict[str, HostBudget] = {}
        self.pages_netloc = ""
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.robots_parsed, signal=signals.robots_parsed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BudgetMiddleware:
        return cls(crawler)

    def spider_opened(self, spider: Spider) -> None:
        profile = spider.profile  # type: ignore[attr-defined]
        rate, share, parallelism = site_share(self.crawler.settings, profile.rate)
        self.pages_netloc = profile.hosts["pages"]
        for host in ("pages", "images"):
            scope = "site" if profile.budget == "site" else host
            self.budgets[host] = shared_budget(profile.name, scope, share, **self.options)
        self.stats.set_value("budget/scope", profile.budget)
        self.stats.set_value("budget/site_rate", rate)
        self.stats.set_value("budget/share_per_host", share)
        self.stats.set_value("budget/parallelism", parallelism)
        logger.info(
            "budget: %.3g req/s per %s (%.3g / %d pods)", share, profile.budget, rate, parallelism
        )

    def host_of(self, request: Request) -> str:
        return "pages" if urlsplit(request.url).netloc == self.pages_netloc else "images"

    def robots_parsed(self, robotparser: Any, request: Request) -> None:
        delay = robotparser.crawl_delay(self.user_agent)
        if delay:
            budget = self.budgets[self.host_of(request)]
            budget.crawl_delay = max(budget.crawl_delay, float(delay))
            self.stats.set_value(f"budget/{self.host_of(request)}/crawl_delay", float(delay))

    def _stopping(self) -> bool:
        engine = self.crawler.engine
        return engine is not None and not engine.running

    async def process_request(self, request: Request) -> None:
        host = self.host_of(request)
        waited = await self.budgets[host].acquire(self._stopping)
        if waited is None:
            # SIGTERM: what waits for its turn is dropped (the ledger does not hold it, so
            # the next run fetches it) and the crawl stores what it has within seconds.
            self.stats.inc_value("budget/dropped_at_shutdown")
            raise IgnoreRequest("crawl stopping")
        self.stats.inc_value(f"budget/{host}/requests")
        self.stats.inc_value(f"budget/{host}/wait_ms", round(waited * 1000))

    def process_response(self, request: Request, response: Response) -> Request | Response:
        host = self.host_of(request)
        budget = self.budgets[host]
        retry_after = retry_after_seconds(response.headers.get(b"Retry-After"))
        if response.status == 429 or (response.status == 503 and retry_after is not None):
            tries = int(request.meta.get(self.RETRY_COUNT_KEY, 0))
            if response.status == 429:
                budget.throttled()
                self.stats.inc_value("politeness/429")
            if retry_after is None:
                retry_after = self.default_retry_after * 2**tries
            budget.pause(min(retry_after, self.max_retry_after))
            self.stats.inc_value("politeness/retry_after_waits")
            if tries >= self.max_retries:
                self.stats.inc_value("politeness/gave_up")
                logger.warning("gave up after %d polite retries: %s", tries, request.url)
                return response
            self.stats.inc_value("politeness/retries")
            # Retried here, so DownloaderStats (further up) never sees it: count its status.
            self.stats.inc_value(f"downloader/response_status_count/{response.status}")
            retry = request.copy()
            retry.meta[self.RETRY_COUNT_KEY] = tries + 1
            retry.dont_filter = True
            return retry
        budget.succeeded()
        return response

"""Per-host request budget: a token bucket shared by every client of the host.

A request over budget is answered 429 with ``Retry-After``: the whole seconds until a
token is back (HTTP only allows whole seconds, so it is at least 1).
"""

from __future__ import annotations

import math
import threading
import time

from crawler.demo_site.config import Budget


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up; ``rate == 0`` never limits."""

    def __init__(self, budget: Budget) -> None:
        self.rate = budget.rate
        self.burst = float(budget.burst)
        self._tokens = self.burst
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> int | None:
        """Spend a token: ``None`` when allowed, else the Retry-After seconds."""
        if self.rate <= 0:
            return None
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return None
            return max(1, math.ceil((1.0 - self._tokens) / self.rate))

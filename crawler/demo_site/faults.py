"""Injected faults, decided from the seed and the path so a rerun meets the same ones."""

from __future__ import annotations

import hashlib
import threading

from crawler.demo_site.config import FaultRates


class Faults:
    def __init__(self, seed: int, rates: FaultRates) -> None:
        self.seed = seed
        self.rates = rates
        self._failed_once: set[str] = set()
        self._lock = threading.Lock()

    def hits(self, kind: str, key: str) -> bool:
        """Whether ``key`` (a path or an item id) gets the fault ``kind``."""
        rate = float(getattr(self.rates, kind))
        if rate <= 0:
            return False
        digest = hashlib.blake2b(f"{self.seed}\x1f{kind}\x1f{key}".encode(), digest_size=8)
        return int.from_bytes(digest.digest(), "big") / 2**64 < rate

    def first_try_fails(self, path: str) -> bool:
        """503 the first request of a faulty path; every later request succeeds."""
        if not self.hits("server_error", path):
            return False
        with self._lock:
            if path in self._failed_once:
                return False
            self._failed_once.add(path)
            return True

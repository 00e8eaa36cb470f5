"""The request log: one JSON line per request, so tests measure politeness server-side.

``{"t", "host": "pages"|"images", "method", "path", "status", "bytes", "ua"}``, ``t`` the
epoch seconds at which the request arrived.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import IO, Any


class RequestLog:
    """Appends lines under a lock and flushes each, so a reader sees whole lines."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._file: IO[str] | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("a", encoding="utf-8")

    def write(
        self, host: str, method: str, path: str, status: int, size: int, ua: str, at: float
    ) -> None:
        """One request, stamped ``at`` (epoch seconds) when it arrived: what a rate limit
        counts, whatever the time its answer then took."""
        if self._file is None:
            return
        line = json.dumps(
            {
                "t": round(at, 6),
                "host": host,
                "method": method,
                "path": path,
                "status": status,
                "bytes": size,
                "ua": ua,
            },
            ensure_ascii=False,
        )
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def read_log(path: Path) -> list[dict[str, Any]]:
    """The entries of a request log (for tests and benchmarks)."""
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def busiest_window(
    entries: list[dict[str, Any]], host: str, window: float = 1.0, served_only: bool = True
) -> int:
    """Most requests to ``host`` in any sliding ``window`` seconds (429s left out by default)."""
    times = sorted(
        e["t"] for e in entries if e["host"] == host and not (served_only and e["status"] == 429)
    )
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best

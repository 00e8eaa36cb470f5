"""The visited-id ledger of one site and category, kept in the store.

``raw/<site>/<category>/ledger/<batch>.jsonl`` holds one line per item id settled by
the crawl: ``stored`` (its record is in ``items/<batch>.jsonl``), or skipped for good
(``noai``: opted out of AI training; ``gone``: deleted from the site). A rerun loads them
all and never requests those items' pages or photos again.

Durability rule: an id is written to the ledger only after the batch holding its record
is stored (the feed storage calls :meth:`Ledger.commit_batch` right after the upload).
A crawl killed between the two leaves a batch without its ledger file; :meth:`load`
rebuilds it from the batch, so the rerun neither loses nor duplicates a record. Items
that failed for a reason that may pass (a 5xx, a truncated photo) are not written, so
the next run tries them again.

>>> from dataset.core.store import open_store
>>> ledger = Ledger(open_store("/tmp/s2s-ledger-doctest"), "demo", "robes")
>>> ledger.claim("1") and not ledger.claim("1")
True
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from pathlib import PurePosixPath

from dataset.core.store import Store

logger = logging.getLogger(__name__)

FINAL_SKIPS = "skips"  # suffix of the ledger file of skips not followed by a batch


def item_ids(jsonl: bytes) -> list[str]:
    """The ``item_id`` of each record line of a feed batch."""
    ids = []
    for line in jsonl.decode("utf-8").splitlines():
        if line.strip():
            ids.append(str(json.loads(line)["item_id"]))
    return ids


class Ledger:
    def __init__(self, store: Store, site: str, category: str) -> None:
        self.store = store
        self.prefix = f"raw/{site}/{category}/"
        self.known: dict[str, str] = {}  # item id -> outcome, from earlier runs and batches
        self._claimed: set[str] = set()  # ids being fetched by this run
        self._skips: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def ledger_key(self, batch: str) -> str:
        return f"{self.prefix}ledger/{batch}.jsonl"

    def load(self) -> Counter[str]:
        """Read the ledger (repairing batches stored without theirs); outcome counts."""
        ledger_keys = set(self.store.list(f"{self.prefix}ledger/"))
        for key in self.store.list(f"{self.prefix}items/"):
            batch = PurePosixPath(key).stem
            if key.endswith(".jsonl") and self.ledger_key(batch) not in ledger_keys:
                logger.info("ledger: rebuilding %s from its stored batch", batch)
                ids = item_ids(self.store.read_bytes(key))
                self._write(batch, [(item_id, "stored") for item_id in ids])
                ledger_keys.add(self.ledger_key(batch))
        for key in sorted(ledger_keys):
            for line in self.store.read_text(key).splitlines():
                if line.strip():
                    entry = json.loads(line)
                    self.known[str(entry["item_id"])] = entry["outcome"]
        return Counter(self.known.values())

    def seen(self, item_id: str) -> bool:
        return item_id in self.known or item_id in self._claimed

    def claim(self, item_id: str) -> bool:
        """True the first time an id not in the ledger is claimed by this run."""
        with self._lock:
            if self.seen(item_id):
                return False
            self._claimed.add(item_id)
            return True

    def release(self, item_id: str) -> None:
        """Forget a claim that failed for a passing reason, so a rerun tries again."""
        with self._lock:
            self._claimed.discard(item_id)

    def skip(self, item_id: str, outcome: str) -> None:
        """Settle an item without a record; written with the next batch (or at close)."""
        with self._lock:
            self._skips.append((item_id, outcome))

    def commit_batch(self, batch: str, stored_ids: list[str]) -> None:
        """Called once ``items/<batch>.jsonl`` is durably stored (from a worker thread)."""
        with self._lock:
            entries = [(item_id, "stored") for item_id in stored_ids] + self._skips
            self._skips = []
        self._write(batch, entries)

    def close(self, run_id: str) -> None:
        """Write the skips no batch carried."""
        with self._lock:
            entries, self._skips = self._skips, []
        if entries:
            self._write(f"{run_id}-{FINAL_SKIPS}", entries)

    def _write(self, batch: str, entries: list[tuple[str, str]]) -> None:
        text = "".join(
            json.dumps({"item_id": item_id, "outcome": outcome}) + "\n"
            for item_id, outcome in entries
        )
        self.store.write_text(self.ledger_key(batch), text)
        with self._lock:
            self.known.update(entries)

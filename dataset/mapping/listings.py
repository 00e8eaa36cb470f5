"""Read a site's listing records from the store: all categories, all runs, latest per item.

Records are the JSON lines of ``raw/<site>/<category>/items/*.jsonl`` (docs/architecture.md).
A malformed line or a record missing a required field is skipped and counted, with its
``file:line`` kept for the summary, so one bad batch never stops a weekly mapping run.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from tqdm import tqdm

from dataset.core.errors import UserError
from dataset.core.store import Store

logger = logging.getLogger(__name__)

REQUIRED_FIELDS = (
    "site",
    "item_id",
    "url",
    "category",
    "image_urls",
    "images",
    "fetched_at",
    "crawler_version",
)
_ITEMS_KEY = re.compile(r"^raw/(?P<site>[^/]+)/(?P<category>[^/]+)/items/[^/]+\.jsonl$")
_PROBLEMS_KEPT = 50  # problems listed in the summary; all of them are counted


@dataclass
class ReadReport:
    """What reading the records met: files, lines, and the lines that were skipped."""

    files: int = 0
    lines: int = 0
    records: int = 0
    malformed: int = 0
    missing_fields: int = 0
    superseded: int = 0  # older records of an item fetched again later
    problems: list[str] = field(default_factory=list)

    def skip(self, counter: str, where: str, reason: str) -> None:
        setattr(self, counter, getattr(self, counter) + 1)
        if len(self.problems) < _PROBLEMS_KEPT:
            self.problems.append(f"{where}: {reason}")
        logger.debug("skipped %s: %s", where, reason)

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "lines": self.lines,
            "records": self.records,
            "skipped_malformed": self.malformed,
            "skipped_missing_fields": self.missing_fields,
            "superseded": self.superseded,
            "problems": self.problems,
        }


def item_keys(store: Store, site: str) -> list[str]:
    """The listing-record files of ``site``; :class:`UserError` naming the sites found if none."""
    keys = [key for key in store.list(f"raw/{site}/") if _ITEMS_KEY.match(key)]
    if not keys:
        sites = sorted({key.split("/")[1] for key in store.list("raw/") if key.count("/") > 1})
        found = f"sites with data: {', '.join(sites)}" if sites else "the store holds no listings"
        raise UserError(
            f"{store.uri_for(f'raw/{site}/')}: no listing records (raw/{site}/*/items/*.jsonl); "
            f"{found}"
        )
    return keys


def _check(record: Any) -> str | None:
    """Why ``record`` cannot be used, or None."""
    if not isinstance(record, dict):
        return f"a record is a JSON object, not {type(record).__name__}"
    missing = [name for name in REQUIRED_FIELDS if record.get(name) in (None, "")]
    if missing:
        return f"missing required field(s) {', '.join(missing)}"
    if not isinstance(record["images"], list):
        return f"images is a list, not {type(record['images']).__name__}"
    return None


def read_listings(
    store: Store, site: str, progress: bool = False
) -> tuple[pd.DataFrame, ReadReport]:
    """All valid records of ``site``, latest per ``item_id`` (by ``fetched_at``).

    Returns one row per listing with the record's fields as columns (missing optional
    labels are None) and the :class:`ReadReport`. Raises :class:`UserError` when the
    site has no record files or none of their lines is a valid record.
    """
    report = ReadReport()
    records: list[dict[str, Any]] = []
    keys = item_keys(store, site)
    for key in tqdm(keys, desc=f"read {site}", unit="file", disable=not progress):
        report.files += 1
        uri = store.uri_for(key)
        for number, line in enumerate(store.read_text(key).splitlines(), start=1):
            if not line.strip():
                continue
            report.lines += 1
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                report.skip("malformed", f"{uri}:{number}", f"not valid JSON ({exc.msg})")
                continue
            reason = _check(record)
            if reason is not None:
                counter = "missing_fields" if reason.startswith("missing") else "malformed"
                report.skip(counter, f"{uri}:{number}", reason)
                continue
            record["item_id"] = str(record["item_id"])
            records.append(record)
    if not records:
        raise UserError(
            f"{store.uri_for(f'raw/{site}/')}: no valid listing record in {report.files} "
            f"file(s) ({report.malformed} malformed, {report.missing_fields} incomplete); "
            f"first problem: {report.problems[0] if report.problems else 'empty files'}"
        )
    frame = pd.DataFrame.from_records(records)
    frame["fetched_at"] = pd.to_datetime(
        frame["fetched_at"], utc=True, format="ISO8601", errors="coerce"
    )
    frame = frame.sort_values("fetched_at", kind="stable", na_position="first")
    latest = frame.drop_duplicates("item_id", keep="last").sort_values(["category", "item_id"])
    report.superseded = len(frame) - len(latest)
    report.records = len(latest)
    return latest.reset_index(drop=True), report

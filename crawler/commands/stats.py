"""Per category of a site, from the store alone: items, photos, last run, its status, its 429s.

  s2s-crawl stats --store ./data --site demo
  s2s-crawl stats --store s3://street2shop --site demo --format json

Items are the distinct item ids of raw/<site>/<category>/items/*.jsonl, photos the
stored photos their records list; the last run is the newest raw/<site>/<category>/runs/
file. A last run still "running" whose crawl is gone was killed (SIGKILL, node lost):
rerun the category, the ledger makes it incremental.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from dataset.core import clikit
from dataset.core.errors import UserError
from dataset.core.store import Store, open_store

NAME = "stats"
HELP = "items, photos and last run per category of a site, read from the store"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    clikit.add_store_argument(parser)
    parser.add_argument("--site", required=True, help="site name (raw/<site>/ in the store)")
    clikit.add_format_argument(parser)


def category_stats(store: Store, site: str, category: str) -> dict[str, Any]:
    prefix = f"raw/{site}/{category}/"
    items: set[str] = set()
    photos: set[str] = set()
    for key in store.list(f"{prefix}items/"):
        if not key.endswith(".jsonl"):
            continue
        for line in store.read_text(key).splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            items.add(str(record.get("item_id")))
            photos.update(i.get("path", "") for i in record.get("images") or [])
    runs = sorted(k for k in store.list(f"{prefix}runs/") if k.endswith(".json"))
    last: dict[str, Any] = store.read_json(runs[-1]) if runs else {}
    return {
        "category": category,
        "items": len(items),
        "photos": len(photos - {""}),
        "runs": len(runs),
        "last_run": last.get("run_id"),
        "last_run_started_at": last.get("started_at"),
        "last_run_status": last.get("status"),
        "last_run_items": last.get("items"),
        "last_run_429": last.get("throttled_429"),
    }


def site_stats(store: Store, site: str) -> list[dict[str, Any]]:
    categories = sorted(
        {
            key.split("/")[2]
            for key in store.list(f"raw/{site}/")
            if key.count("/") >= 4 and key.split("/")[2] != "images"
        }
    )
    if not categories:
        raise UserError(f"{store.uri_for(f'raw/{site}/')}: no crawl of site {site!r} in the store")
    return [category_stats(store, site, category) for category in categories]


def run(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    store.check()
    rows = site_stats(store, args.site)
    header = f"{'category':<24}{'items':>7}{'photos':>8}  {'last run':<24}{'status':<12}{'429s':>5}"
    lines = [header] + [
        f"{r['category']:<24}{r['items']:>7}{r['photos']:>8}  {r['last_run'] or '-':<24}"
        f"{r['last_run_status'] or '-':<12}{r['last_run_429'] if r['last_run_429'] is not None else '-':>5}"
        for r in rows
    ]
    total = sum(r["items"] for r in rows), sum(r["photos"] for r in rows)
    lines.append(f"{'total':<24}{total[0]:>7}{total[1]:>8}")
    clikit.emit(
        {"site": args.site, "store": store.uri, "categories": rows}, args.format, "\n".join(lines)
    )
    return 0

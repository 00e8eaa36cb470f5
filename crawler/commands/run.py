"""Crawl one or more categories of a marketplace into a store, politely and resumably.

Examples (the demo marketplace: `s2s-crawl demo-site` in another terminal):

  s2s-crawl run --site demo --category robes --category jeans --store ./data --rate 15
  s2s-crawl run --site demo --category robes --store s3://bucket/crawl --mode html
  s2s-crawl run --site demo --categories-file cats.txt --store ./data --dry-run

--rate is the site's budget in requests/s per host (pages, images), or for all its hosts
together when its profile says `budget: site`, for ALL pods of a parallel crawl
together; each pod takes rate / --parallelism. In an Indexed Job the pod
with JOB_COMPLETION_INDEX=i crawls line i of --categories-file. Environment overrides
(when the flag is absent): S2S_BASE_URL, S2S_IMAGE_BASE_URL, S2S_RATE, S2S_PARALLELISM.

A rerun fetches listing pages again but no item page or photo it already holds (the
ledger in raw/<site>/<category>/ledger/); SIGTERM stores what was collected. Per-run
stats go to raw/<site>/<category>/runs/<run-id>.json and are printed at the end.
Bad input (unknown site or category, missing bucket, no credentials) fails before any
request; a category whose first listing page gives no item fails with one line naming
the profile key that found nothing (try the profile with `s2s-crawl probe`). Exit codes
(docs/operations.md): 0 every category finished with its records stored; 2 bad input;
75 trouble that may pass (store or site unreachable, a store write failed mid-crawl,
interrupted): retry; 1 any other failure. An unreachable store is retried for
--store-wait seconds before giving up.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from crawler.categories import read_categories
from crawler.checks import check_user_agent
from crawler.profiles import load_profile, resolve_urls
from crawler.runner import CrawlPlan
from crawler.store_health import wait_for_store
from dataset.core import clikit
from dataset.core.errors import EXIT_TEMPFAIL, UserError
from dataset.core.store import open_store

TRANSIENT_FAILURES = ("store", "site_unreachable")  # kinds of failure a retry may cure
NAME = "run"
HELP = "crawl categories of a marketplace into a store (polite, resumable)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--site", required=True, help="site profile (crawler/sites/SITE.yaml)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--category", action="append", metavar="SLUG", help="a category slug (repeatable)"
    )
    source.add_argument(
        "--categories-file",
        type=Path,
        metavar="FILE",
        help="one slug a line; with JOB_COMPLETION_INDEX=i only line i",
    )
    clikit.add_store_argument(parser)
    parser.add_argument(
        "--rate", type=float, help="requests/s per site host, all pods together (S2S_RATE)"
    )
    parser.add_argument(
        "--parallelism", type=int, help="pods sharing --rate (S2S_PARALLELISM, default 1)"
    )
    parser.add_argument("--base-url", help="site pages URL (S2S_BASE_URL; default: profile)")
    parser.add_argument("--image-base-url", help="site photo host URL (S2S_IMAGE_BASE_URL)")
    parser.add_argument("--mode", choices=["api", "html"], help="default: the profile's mode")
    parser.add_argument(
        "--max-items", type=int, default=0, help="stop after N new items per category"
    )
    parser.add_argument(
        "--batch-items",
        type=int,
        default=50,
        help="records per stored batch: at most this many lost to a SIGKILL (default 50)",
    )
    parser.add_argument("--user-agent", help="User-Agent with a contact (default: settings)")
    parser.add_argument(
        "--store-wait",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="retry an unreachable store with back-off this long before exit 75 (default 60)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="check the input and print the plan; no request"
    )
    clikit.add_format_argument(parser)


def _categories(args: argparse.Namespace) -> tuple[list[str], int | None]:
    if args.category:
        return list(dict.fromkeys(args.category)), None
    categories = read_categories(args.categories_file)
    raw_index = os.environ.get("JOB_COMPLETION_INDEX")
    if raw_index is None:
        return categories, None
    if not raw_index.isdigit() or int(raw_index) >= len(categories):
        raise UserError(
            f"JOB_COMPLETION_INDEX={raw_index!r} does not name a line of "
            f"{args.categories_file} ({len(categories)} categories)"
        )
    return [categories[int(raw_index)]], int(raw_index)


def plan_from_args(args: argparse.Namespace) -> CrawlPlan:
    from crawler import settings as defaults
    from crawler.middlewares.budget import resolve_rate  # imports Scrapy: not at CLI start

    profile = resolve_urls(load_profile(args.site), args.base_url, args.image_base_url)
    profile = profile.with_mode(args.mode)
    categories, index = _categories(args)
    for category in categories:
        profile.check_category(category)
    rate, parallelism = resolve_rate(args.rate, args.parallelism, profile.rate)
    if args.max_items < 0 or args.batch_items < 1:
        raise UserError(
            f"--max-items must be >= 0 and --batch-items >= 1. Received: "
            f"{args.max_items}, {args.batch_items}"
        )
    return CrawlPlan(
        profile=profile,
        categories=categories,
        store=args.store,
        rate=rate,
        parallelism=parallelism,
        user_agent=check_user_agent(args.user_agent or defaults.USER_AGENT),
        max_items=args.max_items,
        batch_items=args.batch_items,
        index=index,
    )


def _line(summary: dict[str, Any]) -> str:
    requests = summary.get("requests") or {}
    by_status = ", ".join(f"{k}: {v}" for k, v in requests.get("by_status", {}).items())
    optout = summary.get("optout") or {}
    if summary.get("error"):
        return f"{summary.get('category')}: {summary.get('status')}: {summary['error']}"
    failure = summary.get("failure")
    return (
        f"{summary.get('category')}: {summary.get('status')}, {summary.get('items', 0)} items, "
        f"{requests.get('total', 0)} requests ({by_status or 'none'}), "
        f"{summary.get('bytes', 0)} bytes, {summary.get('retries', 0)} retries, "
        f"{summary.get('throttled_429', 0)} x 429, "
        f"noai skipped {sum(optout.values())}, {summary.get('duration_s', 0)} s"
        + (f"; {failure['kind']}: {failure['cause']}" if failure else "")
    )


def exit_code(summaries: list[dict[str, Any]]) -> int:
    """0 all finished; 75 if any stopped for a reason that may pass (a Job retries); else 1."""
    if all(s.get("status") == "finished" for s in summaries):
        return 0
    if any(
        s.get("status") == "interrupted"
        or (s.get("failure") or {}).get("kind") in TRANSIENT_FAILURES
        for s in summaries
    ):
        return EXIT_TEMPFAIL
    return 1


def run(args: argparse.Namespace) -> int:
    plan = plan_from_args(args)
    if args.store_wait < 0:
        raise UserError(f"--store-wait must be >= 0. Received: {args.store_wait}")
    store = open_store(plan.store)
    wait_for_store(store, args.store_wait)  # bad credentials: exit 2 at once, before any request
    if args.dry_run:
        described = plan.describe()
        text = "\n".join(
            [f"dry run: no request sent; store {store.uri} reachable"]
            + [f"  {key}: {value}" for key, value in described.items()]
        )
        clikit.emit({"dry_run": True, **described}, args.format, text)
        return 0

    from crawler.runner import crawl

    level = "INFO" if args.verbose else "WARNING"
    progress = args.format == "text" and sys.stderr.isatty()
    summaries = crawl(plan, log_level=level, progress=progress)
    report = {"site": plan.profile.name, "store": store.uri, "runs": summaries}
    text = "\n".join(_line(s) for s in summaries)
    clikit.emit(report, args.format, text)
    return exit_code(summaries)

"""Benchmark: the crawler at a fixed budget against both flavours of the demo site.

Prints one markdown section. Measured from the server's request log (what a site sees)
and the crawl subprocess's CPU time: HTTP requests per new labelled item (robots.txt
included) in API and HTML mode on the marketplace flavour and on the storefront flavour
(embedded JSON, item pages, one budget shared by its two hosts), share of the budget
used (busiest host; the whole site for the storefront), requests above budget, crawler
CPU seconds per 1,000 items, and requests per listed item on a rerun with nothing new.

    python bench/crawl_bench.py [--quick] [--rate 20] [--baseline-repo DIR]

With ``--baseline-repo`` (a checkout of an earlier commit) its crawler and profiles
crawl the same sites in the same run, and the table gains its figures as "before".
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crawler.demo_site import DemoSite, load_config  # noqa: E402
from crawler.demo_site.log import read_log  # noqa: E402

CATEGORIES = ["robes", "jeans"]
SHOP_CATEGORIES = ["dresses", "jeans"]  # the same listings on the storefront
TARGETS = {"api": 1.1, "html": 2.1, "storefront": 2.1}


def above_budget(entries: list[dict[str, Any]], host: str, rate: float) -> int:
    """Requests that made some sliding 1-second window hold more than ``rate``."""
    times = sorted(e["t"] for e in entries if e["host"] == host)
    excess, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= 1.0:
            start += 1
        excess += (end - start + 1) > int(rate)
    return excess


def crawl(
    site: DemoSite, store: Path, rate: float, mode: str, repo: Path = ROOT
) -> tuple[dict[str, Any], float]:
    """One crawl subprocess of the crawler in ``repo``: (its JSON report, its CPU seconds)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    name, categories = (
        ("storefront", SHOP_CATEGORIES) if mode == "storefront" else ("demo", CATEGORIES)
    )
    done = subprocess.run(
        [sys.executable, "-m", "crawler", "run", "--site", name, "--store", str(store)]
        + [a for c in categories for a in ("--category", c)]
        + ["--base-url", site.base_url, "--image-base-url", site.image_base_url]
        + ["--rate", str(rate), "--mode", "html" if mode == "storefront" else mode]
        + ["--format", "json"],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(repo)),
        cwd=repo,
        check=True,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return json.loads(done.stdout), cpu


def measure(
    site: DemoSite, log: Path, store: Path, rate: float, mode: str, repo: Path = ROOT
) -> dict[str, Any]:
    start = len(read_log(log))
    report, cpu = crawl(site, store, rate, mode, repo)
    entries = read_log(log)[start:]
    items = sum(run["items"] for run in report["runs"])
    if mode == "storefront":  # one budget for both hosts: what the site sees, together
        entries = [dict(e, host="site") for e in entries]
    shares = {}
    for host in sorted({e["host"] for e in entries}):
        times = sorted(e["t"] for e in entries if e["host"] == host)
        if len(times) < 2 * rate:  # a host that never fills a window: no share to read
            continue
        span = max(times[-1] - times[0], 1e-9) if len(times) > 1 else 0
        shares[host] = (len(times) - 1) / (rate * span) if span else 0.0
    return {
        "items": items,
        "requests": len(entries),
        "per_item": len(entries) / max(items, 1),
        "share": max(shares.values()),
        "busiest": max(shares, key=lambda h: shares[h]),
        "above": sum(above_budget(entries, host, rate) for host in {e["host"] for e in entries}),
        "cpu_per_1000": 1000 * cpu / max(items, 1),
    }


def rerun(site: DemoSite, log: Path, store: Path, rate: float) -> dict[str, Any]:
    start = len(read_log(log))
    report, _ = crawl(site, store, rate, "api")
    entries = read_log(log)[start:]
    listed = sum(len(site.universe.listings(c)) for c in CATEGORIES)
    listing = [e for e in entries if e["path"].startswith(("/api/", "/catalogue/", "/robots"))]
    return {
        "new_items": sum(run["items"] for run in report["runs"]),
        "requests": len(entries),
        "per_listed": len(entries) / listed,
        "only_listing": len(listing) == len(entries),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a smaller site (about 1 min)")
    parser.add_argument("--rate", type=float, default=20.0, help="budget, req/s per host")
    parser.add_argument(
        "--baseline-repo", type=Path, help="checkout of an earlier commit, measured alongside"
    )
    args, _ = parser.parse_known_args()
    repos = {"": ROOT} | ({"before": args.baseline_repo.resolve()} if args.baseline_repo else {})
    per_category = 30 if args.quick else 100
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "requests.jsonl"
        config = load_config(
            items_per_category=per_category,
            per_page=20,
            photo_size=128,
            crawl_delay=0.0,
            page_rate=0,  # the server does not limit: the crawler's own budget is measured
            image_rate=0,
            request_log=log,
        )
        runs: dict[str, dict[str, dict[str, Any]]] = {label: {} for label in repos}
        with DemoSite(config) as site:
            for label, repo in repos.items():
                for mode in ("api", "html"):
                    store = Path(tmp) / f"{mode}{label}"
                    runs[label][mode] = measure(site, log, store, args.rate, mode, repo)
            again = rerun(site, log, Path(tmp) / "api", args.rate)
        shop_log = Path(tmp) / "shop-requests.jsonl"
        shop = config.model_copy(update={"flavour": "storefront", "request_log": shop_log})
        with DemoSite(shop) as site:
            for label, repo in repos.items():
                store = Path(tmp) / f"storefront{label}"
                runs[label]["storefront"] = measure(
                    site, shop_log, store, args.rate, "storefront", repo
                )
    results = runs[""]

    command = "python bench/crawl_bench.py" + (" --quick" if args.quick else "")
    command += " --baseline-repo DIR" if args.baseline_repo else ""
    print("### Crawler at a fixed budget\n")
    print(f"- machine: {os.cpu_count()} cores; date: {datetime.now(timezone.utc):%Y-%m-%d}")
    print(f"- command: `{command}` (budget {args.rate:g} req/s per host, per site for the "
          f"storefront; categories {', '.join(CATEGORIES)} / {', '.join(SHOP_CATEGORIES)}, "
          f"{per_category} items/category mean; the site's pages hold 20 items unless a "
          f"profile asks for more, up to 100)\n")  # fmt: skip
    print("| measure | API mode | HTML mode | storefront (embedded JSON, budget: site) | target |")
    print("|---|---|---|---|---|")
    api, html, shop = results["api"], results["html"], results["storefront"]

    def row(label: str, key: str, fmt: str, target: str = "") -> None:
        cells = " | ".join(format(r[key], fmt) for r in (api, html, shop))
        print(f"| {label} | {cells} | {target} |")

    row("new labelled items", "items", "d")
    row("HTTP requests (all hosts, robots.txt included)", "requests", "d")
    row(
        "requests per new labelled item", "per_item", ".3f",
        f"<= {TARGETS['api']} (API), <= {TARGETS['html']} (HTML, storefront)",
    )  # fmt: skip
    shares = " | ".join(f"{r['share']:.1%} ({r['busiest']})" for r in (api, html, shop))
    print(f"| share of budget used (busiest budget) | {shares} | >= 90% |")
    row("requests above budget", "above", "d", "0")
    if "before" in runs:
        old = runs["before"]

        def before(label: str, cell: Any) -> None:
            cells = " | ".join(cell(old[mode]) for mode in ("api", "html", "storefront"))
            print(f"| before: {label} | {cells} | |")

        before("requests per new labelled item", lambda r: f"{r['per_item']:.3f}")
        before("share of budget used", lambda r: f"{r['share']:.1%} ({r['busiest']})")
        before("requests above budget", lambda r: f"{r['above']:d}")
    row("crawler CPU seconds per 1,000 items", "cpu_per_1000", ".1f")
    print(
        f"| rerun, nothing new: requests per listed item | {again['per_listed']:.3f} "
        f"({again['requests']} requests, {again['new_items']} new, listing pages only: "
        f"{'yes' if again['only_listing'] else 'no'}) | | | listing pages only |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

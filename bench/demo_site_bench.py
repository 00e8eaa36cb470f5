"""Benchmark: synthetic photo rendering and demo marketplace throughput.

Prints one markdown section. The renderer must keep up with dataset stages that draw
thousands of photos (target: > 200 images/s at 128 px); the server must answer far
above any crawl budget, so politeness benchmarks measure the crawler, not the site.

    python bench/demo_site_bench.py [--seconds 2]
"""

from __future__ import annotations

import argparse
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawler.demo_site import DemoSite, DemoSiteConfig  # noqa: E402
from dataset.synthetic import DemoUniverse  # noqa: E402

RENDER_TARGET = 200.0  # images/s at 128 px


def render_rate(universe: DemoUniverse, size: int, seconds: float) -> float:
    photos = [p for item in universe.all_listings() for p in item.photo_ids]
    start, done = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        universe.render_listing_photo(photos[done % len(photos)], size=size)
        done += 1
    return done / (time.perf_counter() - start)


def serve_rate(urls: list[str], seconds: float, clients: int = 4) -> float:
    def get(url: str) -> int:
        with urllib.request.urlopen(url, timeout=10) as response:
            return len(response.read())

    start, done = time.perf_counter(), 0
    with ThreadPoolExecutor(clients) as pool:
        while time.perf_counter() - start < seconds:
            batch = [urls[(done + i) % len(urls)] for i in range(clients * 4)]
            list(pool.map(get, batch))
            done += len(batch)
    return done / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=2.0, help="per measurement")
    args, _ = parser.parse_known_args()
    universe = DemoUniverse(seed=0, items_per_category=20)
    renders = {size: render_rate(universe, size, args.seconds) for size in (64, 128, 256)}

    config = DemoSiteConfig(items_per_category=20, page_rate=0, image_rate=0, photo_size=128)
    with DemoSite(config) as site:
        items = [x for x in site.universe.all_listings() if not x.deleted]
        pages = [f"{site.base_url}/articles/{x.item_id}" for x in items]
        api = [
            f"{site.base_url}/api/v2/catalog/items?catalog={s}" for s in site.universe.categories
        ]
        photos = [f"{site.image_base_url}/photos/{x.photo_ids[0]}.jpg" for x in items]
        serve = {
            "item pages": serve_rate(pages, args.seconds),
            "API listing pages (20 items)": serve_rate(api, args.seconds),
            "photos 128 px, first render": serve_rate(photos, args.seconds),
            "photos 128 px, cached": serve_rate(photos, args.seconds),
        }

    print("## Demo marketplace and synthetic photos\n")
    print(f"Command: `python bench/demo_site_bench.py --seconds {args.seconds:g}` (one process)\n")
    print("| measure | result | target |")
    print("|---|---|---|")
    for size, rate in renders.items():
        target = f"> {RENDER_TARGET:.0f}/s" if size == 128 else ""
        print(
            f"| listing photo render, {size} px (JPEG included) | {rate:.0f} images/s | {target} |"
        )
    for name, rate in serve.items():
        print(f"| server, {name}, 4 clients | {rate:.0f} req/s | above any crawl budget |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

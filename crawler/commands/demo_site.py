"""Serve the bundled demo marketplace on loopback until interrupted (SIGINT or SIGTERM).

A French second-hand clothing marketplace generated from a seed: category pages,
item pages (JSON-LD + details table), a JSON API, robots.txt, photos on a separate
image host, a request budget (429 + Retry-After) and optional injected faults.

Example (free ports, read the URLs from a file, 10% of first requests answer 503; add
``--flavour storefront`` for the second shop, built like a modern storefront):

  s2s-crawl demo-site --port 0 --image-port 0 --ready-file /tmp/site.json \\
      --page-rate 20:10 --fault server_error=0.1 --request-log /tmp/requests.jsonl

When ready it prints one line with both base URLs and writes them to --ready-file as
{"base_url": ..., "image_base_url": ..., "pid": ...}.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import threading
from pathlib import Path
from typing import Any

from dataset.core.errors import UserError

NAME = "demo-site"
HELP = "serve the bundled demo marketplace (pages + image host) on loopback"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--flavour",
        choices=["marketplace", "storefront"],
        help="marketplace (default: French, JSON API, JSON-LD) or storefront (English app "
        "pages with embedded JSON and cursors, microdata, one budget for both hosts, 410 "
        "for sold items; profile crawler/sites/storefront.yaml)",
    )
    parser.add_argument("--port", type=int, default=8000, help="pages port (0: a free one)")
    parser.add_argument(
        "--image-port", type=int, default=8001, help="image host port (0: a free one)"
    )
    parser.add_argument("--host", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--base-url", help="pages URL as clients reach it, e.g. a Service (default: bound)"
    )
    parser.add_argument(
        "--image-base-url", help="image host URL written into pages (default: bound address)"
    )
    parser.add_argument("--seed", type=int, help="world seed (default 0)")
    parser.add_argument("--items-per-category", type=int, help="mean listings per category (40)")
    parser.add_argument("--per-page", type=int, help="items per listing page (20)")
    parser.add_argument("--crawl-delay", type=float, help="Crawl-delay in robots.txt (0.05)")
    parser.add_argument(
        "--page-rate", metavar="RATE[:BURST]", help="pages budget, req/s (20:10; 0 unlimited)"
    )
    parser.add_argument(
        "--image-rate", metavar="RATE[:BURST]", help="image host budget, req/s (50:20)"
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="server_error, slow, truncated_image, huge_image, bad_jsonld or deleted (a share "
        "of paths, 0-1), slow_seconds or server_error_retry_after (seconds), huge_image_side "
        "(pixels, default 12000); repeatable",
    )
    parser.add_argument("--photo-size", type=int, help="side of served photos in pixels (256)")
    parser.add_argument("--request-log", type=Path, help="append one JSON line per request")
    parser.add_argument("--config", type=Path, help="YAML file of options (flags win)")
    parser.add_argument("--ready-file", type=Path, help="write the base URLs here as JSON")


def _faults(pairs: list[str]) -> dict[str, float]:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise UserError(f"--fault expects NAME=NUMBER. Received: {pair!r}")
    return out


def options_from_args(args: argparse.Namespace) -> dict[str, Any]:
    names = (
        "flavour",
        "host",
        "base_url",
        "image_base_url",
        "seed",
        "items_per_category",
        "per_page",
        "crawl_delay",
        "photo_size",
    )
    options: dict[str, Any] = {n: getattr(args, n) for n in names if getattr(args, n) is not None}
    options.update(port=args.port, image_port=args.image_port)
    for name in ("page_rate", "image_rate", "request_log"):
        if getattr(args, name) is not None:
            options[name] = getattr(args, name)
    if args.fault:
        options["faults"] = _faults(args.fault)
    return options


def run(args: argparse.Namespace) -> int:
    from crawler.demo_site import DemoSite, load_config

    config = load_config(args.config, **options_from_args(args))
    try:
        site = DemoSite(config)
    except OSError as exc:
        raise UserError(f"cannot listen on {config.host}: {exc}") from exc
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    site.start()
    try:
        ready = {"base_url": site.base_url, "image_base_url": site.image_base_url}
        if args.ready_file is not None:
            tmp = args.ready_file.with_name(args.ready_file.name + ".tmp")
            tmp.write_text(json.dumps({**ready, "pid": os.getpid()}) + "\n", encoding="utf-8")
            os.replace(tmp, args.ready_file)  # readers never see half a file
        print(f"demo site ready: pages {site.base_url} images {site.image_base_url}", flush=True)
        stop.wait()
    finally:
        site.stop()
    return 0

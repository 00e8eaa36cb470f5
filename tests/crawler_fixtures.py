"""Helpers for crawler tests: run `s2s-crawl` as a pod would (a subprocess), read the store.

from tests.crawler_fixtures import crawl, records_of
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from dataset.core.store import Store, open_store
from tests.demo_site_fixtures import RunningDemoSite

ROOT = Path(__file__).resolve().parents[1]
UA = "street2shop-tests/1.0 (+mailto:tests@example.com)"


def crawl_command(site: RunningDemoSite, store: str, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "crawler",
        "run",
        "--site",
        "demo",
        "--store",
        store,
        "--base-url",
        site.base_url,
        "--image-base-url",
        site.image_base_url,
        "--user-agent",
        UA,
        "--format",
        "json",
        *args,
    ]


def crawl_env(**extra: str) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT), **extra)


def crawl(
    site: RunningDemoSite, store: str, *args: str, timeout: float = 60, **env: str
) -> tuple[int, dict[str, Any], str]:
    """Run one crawl to the end: (exit code, its JSON report or {}, stderr)."""
    done = subprocess.run(
        crawl_command(site, store, *args),
        capture_output=True,
        text=True,
        env=crawl_env(**env),
        timeout=timeout,
        check=False,
    )
    try:
        report = json.loads(done.stdout) if done.stdout.strip() else {}
    except json.JSONDecodeError:
        report = {}
    return done.returncode, report, done.stderr


def start_crawl(site: RunningDemoSite, store: str, *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        crawl_command(site, store, *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=crawl_env(**env),
    )


def wait_for(condition: Any, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def records_of(store: Store | str, category: str, site: str = "demo") -> list[dict[str, Any]]:
    """Every record line of a category, all batches and runs (duplicates kept)."""
    store = open_store(store) if isinstance(store, str) else store
    out = []
    for key in store.list(f"raw/{site}/{category}/items/"):
        out.extend(json.loads(line) for line in store.read_text(key).splitlines() if line)
    return out


def expected_items(site: RunningDemoSite, category: str) -> dict[str, Any]:
    """Listings a complete crawl must hold: live, not opted out of AI training."""
    return {
        item.item_id: item
        for item in site.universe.listings(category)
        if not item.deleted and not item.noai
    }


def photo_requests(site: RunningDemoSite) -> list[dict[str, Any]]:
    return [e for e in site.requests() if e["host"] == "images" and e["path"] != "/robots.txt"]

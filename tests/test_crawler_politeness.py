"""Politeness measured from the demo server's request log, and the politeness pieces alone."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup

from crawler.demo_site.log import busiest_window
from crawler.extract import dig, key_value_pairs, labels_from_pairs, parse_price
from crawler.middlewares.budget import HostBudget, retry_after_seconds
from crawler.middlewares.optout import optout_tags
from tests.crawler_fixtures import UA, crawl, expected_items, records_of, start_crawl
from tests.demo_site_fixtures import demo_site_factory as demo_site_factory  # noqa: F401

RETRY_AFTER = 1.0  # the demo site's Retry-After at the budgets used here


def test_budget_never_exceeded_and_robots_honoured(demo_site_factory: Any, tmp_path: Path) -> None:
    site = demo_site_factory(crawl_delay=0.1)
    code, report, stderr = crawl(
        site, str(tmp_path / "s"), "--category", "robes", "--category", "jeans",
        "--mode", "html", "--rate", "8",
    )  # fmt: skip
    assert code == 0, stderr[-2000:]
    log = site.requests()
    for host in ("pages", "images"):
        assert busiest_window(log, host, served_only=False) <= 8, host
    pages = [e for e in log if e["host"] == "pages"]
    assert pages[0]["path"] == "/robots.txt"
    assert {e["ua"] for e in log} == {UA}
    # Crawl-delay 0.1 s between pages (the two categories share the pages budget); the
    # log stamps arrivals, so allow the wire's and the server's scheduling jitter.
    gaps = [b["t"] - a["t"] for a, b in zip(pages[1:], pages[2:], strict=False)]
    assert min(gaps) >= 0.1 - 0.04 and sum(gaps) / len(gaps) >= 0.1
    assert all(r["status"] == "finished" for r in report["runs"])


def test_429_and_retry_after_are_obeyed(demo_site_factory: Any, tmp_path: Path) -> None:
    # The site allows 4 photos/s; the crawler is told 20: it must slow down, not lose items.
    site = demo_site_factory(image_rate="4:1", items_per_category=4)
    code, report, stderr = crawl(site, str(tmp_path / "s"), "--category", "robes", "--rate", "20")
    assert code == 0, stderr[-2000:]
    (run,) = report["runs"]
    assert run["throttled_429"] > 0 and run["items"] == len(expected_items(site, "robes"))
    images = sorted((e for e in site.requests() if e["host"] == "images"), key=lambda e: e["t"])
    for refusal in (e for e in images if e["status"] == 429):
        # Requests already on the wire may land just after; none during the pause.
        during = [
            e for e in images if refusal["t"] + 0.15 < e["t"] < refusal["t"] + RETRY_AFTER - 0.05
        ]
        assert not during, (refusal, during)
    # Back-off: far fewer refusals than photos.
    assert run["throttled_429"] < len(expected_items(site, "robes"))


def test_two_pods_share_the_budget(demo_site_factory: Any, tmp_path: Path) -> None:
    site = demo_site_factory(items_per_category=4)
    categories = tmp_path / "categories.txt"
    categories.write_text("robes\njeans\n")
    store = str(tmp_path / "store")
    pods = [
        start_crawl(
            site,
            store,
            "--categories-file",
            str(categories),
            "--mode",
            "html",
            S2S_RATE="6",
            S2S_PARALLELISM="2",
            JOB_COMPLETION_INDEX=str(index),
        )  # fmt: skip
        for index in (0, 1)
    ]
    for pod in pods:
        _, err = pod.communicate(timeout=60)
        assert pod.returncode == 0, err[-2000:]
    log = site.requests()
    for host in ("pages", "images"):
        assert busiest_window(log, host, served_only=False) <= 6, host
    for category in ("robes", "jeans"):
        assert len(records_of(store, category)) == len(expected_items(site, category))


# The pieces alone ---------------------------------------------------------------------
def test_host_budget_spacing_pause_and_backoff() -> None:
    budget = HostBudget(4.0, margin=0.05, recovery=2)
    assert budget.interval == pytest.approx(1.05 / 4)
    assert HostBudget(0.25).interval == 4.0

    async def sends(n: int) -> list[float]:
        times = []
        for _ in range(n):
            await budget.acquire()
            times.append(time.monotonic())
        return times

    times = asyncio.run(sends(9))
    assert min(b - a for a, b in zip(times, times[1:], strict=False)) >= budget.interval * 0.74
    # any 4 + 1 in a row span more than the window and its margin
    assert min(b - a for a, b in zip(times, times[4:], strict=False)) >= 1.05 * 0.99
    budget.pause(0.3)
    start = time.monotonic()
    asyncio.run(sends(1))
    assert time.monotonic() - start >= 0.29
    budget.throttled()
    budget.throttled()
    assert budget.interval == pytest.approx(4 * 1.05 / 4)
    budget.succeeded()
    budget.succeeded()
    assert budget.factor == 2.0


def test_host_budget_makes_up_for_a_late_request_within_the_window() -> None:
    budget = HostBudget(4.0, margin=0.05)

    async def sends(delays: list[float]) -> list[float]:
        times = []
        for delay in delays:
            await asyncio.sleep(delay)  # the crawler busy elsewhere before asking
            await budget.acquire()
            times.append(time.monotonic())
        return times

    times = asyncio.run(sends([0, 0, 0.6, 0, 0, 0, 0]))
    # after the stall, the next one goes sooner than the mean interval
    assert times[3] - times[2] < budget.interval * 0.9
    assert min(b - a for a, b in zip(times, times[4:], strict=False)) >= 1.05 * 0.99
    assert len(times) / (times[-1] - times[0]) > 4 / 1.05 * 0.9


def test_header_and_label_parsing() -> None:
    assert retry_after_seconds(b"7") == 7.0
    assert retry_after_seconds(b"Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert optout_tags([b"noimageai"], "street2shop") == {"noimageai"}
    assert optout_tags([b"otherbot: noai"], "street2shop") == set()
    assert parse_price("1 250,00 €") == {"amount": "1250.00", "currency": "EUR"}
    assert parse_price("£12.5") == {"amount": "12.50", "currency": "GBP"}
    assert dig({"a": {"b": [{"c": 1}, {"d": 2}]}}, "a.b[].c") == [1]
    html = (
        '<table class="details"><tr><th>Vues</th><td>3</td></tr>'
        "<tr><th>Couleur</th><td>Kaki, Moutarde</td></tr>"
        '<tr><th>Marque</th><td><a href="/m/x">Zara</a></td></tr></table>'
    )
    rows = {"Couleur": "colors", "Marque": "brand"}
    pairs = key_value_pairs(BeautifulSoup(html, "html.parser"), "table.details tr", "th", "td")
    assert labels_from_pairs(pairs, rows, ", ") == {
        "colors": ["Kaki", "Moutarde"],
        "brand": "Zara",
    }

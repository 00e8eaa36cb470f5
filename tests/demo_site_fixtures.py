"""The demo marketplace as a pytest fixture: a real server on loopback, per test.

Use it from a test module with::

    from tests.demo_site_fixtures import demo_site, demo_site_factory  # noqa: F401

``demo_site`` is a small, fast site (tiny photos, generous budgets); for other options
use ``start_demo_site(tmp_path, **options)`` (options of
:class:`crawler.demo_site.DemoSiteConfig`, e.g. ``page_rate="5:2"``,
``faults={"server_error": 0.2}``) as a context manager, or the ``demo_site_factory``
fixture, which stops what it started at teardown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from crawler.demo_site import DemoSite, DemoSiteConfig, load_config
from crawler.demo_site.log import read_log
from dataset.synthetic import DemoUniverse

# Small and quick: tests crawl a few dozen items of 64 px photos.
FIXTURE_DEFAULTS: dict[str, Any] = {
    "items_per_category": 6,
    "per_page": 5,
    "photo_size": 64,
    "crawl_delay": 0.0,
    "page_rate": "200:50",
    "image_rate": "400:100",
}


class RunningDemoSite:
    """A started demo site: its URLs, its request log and the universe it renders."""

    def __init__(self, site: DemoSite, request_log: Path) -> None:
        self.site = site
        self.config: DemoSiteConfig = site.config
        self.universe: DemoUniverse = site.universe
        self.base_url = site.base_url
        self.image_base_url = site.image_base_url
        self.request_log = request_log

    def requests(self) -> list[dict[str, Any]]:
        """The request log's entries so far."""
        return read_log(self.request_log)

    def stop(self) -> None:
        self.site.stop()

    def __enter__(self) -> RunningDemoSite:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_demo_site(tmp_path: Path, **options: Any) -> RunningDemoSite:
    """Start a demo site on free loopback ports, serving in background threads."""
    merged = {**FIXTURE_DEFAULTS, **options}
    # Small pages whatever size the profile asks for, so crawls in tests turn pages.
    merged.setdefault("max_per_page", merged["per_page"])
    merged.setdefault("request_log", Path(tmp_path) / "requests.jsonl")
    site = DemoSite(load_config(**merged))
    site.start()
    return RunningDemoSite(site, Path(merged["request_log"]))


@pytest.fixture
def demo_site(tmp_path: Path) -> Iterator[RunningDemoSite]:
    with start_demo_site(tmp_path) as site:
        yield site


@pytest.fixture
def demo_site_factory(tmp_path: Path) -> Iterator[Callable[..., RunningDemoSite]]:
    started: list[RunningDemoSite] = []

    def factory(**options: Any) -> RunningDemoSite:
        folder = tmp_path / f"site-{len(started)}"
        started.append(start_demo_site(folder, **options))
        return started[-1]

    yield factory
    for site in started:
        site.stop()

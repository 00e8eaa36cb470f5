"""Exit codes a Job can act on: a store that fails (the crawl stops at once, its stats
kept), a store unreachable at start-up (waited for, then 75), a site that never answers.

moto's S3 server is started and stopped by the test itself (the session one stays up);
moto keeps its buckets in the process, so a restarted server still has them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from tests.conftest import free_port
from tests.crawler_fixtures import (
    UA,
    crawl,
    crawl_env,
    photo_requests,
    records_of,
    start_crawl,
    wait_for,
)
from tests.demo_site_fixtures import RunningDemoSite, demo_site, demo_site_factory  # noqa: F401

BUCKET = "s2s-outage"


class OwnS3:
    """A moto server on a fixed loopback port that a test can stop and start again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.server: ThreadedMotoServer | None = None

    def start(self) -> None:
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


@pytest.fixture
def own_s3(s3_env: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[OwnS3]:
    s3 = OwnS3()
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3.endpoint)
    s3.start()
    boto3.client("s3", endpoint_url=s3.endpoint).create_bucket(Bucket=BUCKET)
    yield s3
    s3.stop()


@pytest.mark.slow
def test_store_outage_mid_crawl_stops_at_once_and_exits_75(
    demo_site_factory: Callable[..., RunningDemoSite],  # noqa: F811
    own_s3: OwnS3,
    tmp_path: Path,
) -> None:
    site = demo_site_factory(items_per_category=60, per_page=20)
    process = start_crawl(
        site, f"s3://{BUCKET}/crawl", "--category", "robes", "--rate", "20",
        "--store-wait", "0", TMPDIR=str(tmp_path),
    )  # fmt: skip
    wait_for(lambda: len(photo_requests(site)) >= 5, 60, "the first photos")
    stopped_at = time.time()
    own_s3.stop()
    stdout, stderr = process.communicate(timeout=90)
    assert process.returncode == 75, stderr[-3000:]
    run = json.loads(stdout)["runs"][0]
    assert run["status"] == "failed" and run["failure"]["kind"] == "store", run
    # One line per cause, not a traceback per item.
    assert stderr.count("Traceback") <= 3 and len(stderr) < 20_000, stderr[-3000:]
    assert stderr.count("store write failed (photo)") <= 1, stderr[-3000:]
    # The crawl stopped: at most the photos already on their way when the store went.
    after = [r for r in photo_requests(site) if r["t"] > stopped_at]
    expected = [i for i in site.universe.listings("robes") if not i.deleted]
    assert len(after) <= 25 and len(photo_requests(site)) < len(expected) / 2, len(after)
    # The failed run's stats were written locally first (the store could not take them).
    local = Path(run["local_stats"])
    assert local.is_relative_to(tmp_path), local
    assert json.loads(local.read_text())["failure"]["kind"] == "store"


@pytest.mark.slow
def test_an_unreachable_store_is_waited_for_then_given_up_with_75(
    demo_site: RunningDemoSite,  # noqa: F811
    own_s3: OwnS3,
) -> None:
    store = f"s3://{BUCKET}/crawl"
    own_s3.stop()
    started = time.monotonic()
    code, _, stderr = crawl(demo_site, store, "--category", "robes", "--store-wait", "2")
    assert code == 75 and time.monotonic() - started >= 2, stderr
    assert "store unreachable" in stderr and "gave up after 2 s" in stderr.splitlines()[-1]
    assert demo_site.requests() == []  # no request before the store answers

    # Back within the wait: the crawl goes on as if nothing happened.
    threading.Timer(3.0, own_s3.start).start()
    code, report, stderr = crawl(
        demo_site, store, "--category", "robes", "--max-items", "5", "--store-wait", "60"
    )
    assert code == 0, stderr[-3000:]
    assert report["runs"][0]["status"] == "finished"
    assert len(records_of(store, "robes")) == 5


def test_a_site_that_never_answers_is_transient_not_a_finished_crawl(
    s3_env: str, tmp_path: Path
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    done = subprocess.run(
        [sys.executable, "-m", "crawler", "run", "--site", "demo", "--category", "robes",
         "--store", str(tmp_path / "store"), "--base-url", closed, "--image-base-url", closed,
         "--user-agent", UA, "--format", "json"],
        capture_output=True, text=True, env=crawl_env(), timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 75, done.stderr[-2000:]
    (run,) = json.loads(done.stdout)["runs"]
    assert run["status"] == "failed" and run["failure"]["kind"] == "site_unreachable", run

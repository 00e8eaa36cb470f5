"""Resumable and incremental crawls, faults, and bad input, against the demo site."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from PIL import Image

from dataset.core.store import open_store
from tests.crawler_fixtures import (
    crawl,
    crawl_env,
    expected_items,
    photo_requests,
    records_of,
    start_crawl,
    wait_for,
)
from tests.demo_site_fixtures import RunningDemoSite
from tests.demo_site_fixtures import demo_site as demo_site  # noqa: F401
from tests.demo_site_fixtures import demo_site_factory as demo_site_factory  # noqa: F401


def held_photo_urls(store: str) -> set[str]:
    """Photo URLs whose file is in the store (ImagesPipeline names files by URL sha1)."""
    names = {Path(k).stem for k in open_store(store).list("raw/demo/images/full/")}
    return {
        url
        for category in ("robes", "jeans")
        for record in records_of(store, category)
        for url in record["image_urls"]
        if hashlib.sha1(url.encode()).hexdigest() in names
    }


def assert_complete_without_duplicates(site: RunningDemoSite, store: str, category: str) -> None:
    ids = Counter(r["item_id"] for r in records_of(store, category))
    assert not [i for i, n in ids.items() if n > 1], "duplicate records"
    assert set(ids) == set(expected_items(site, category))


def test_rerun_fetches_listing_pages_only(demo_site: RunningDemoSite, tmp_path: Path) -> None:  # noqa: F811
    store = str(tmp_path / "store")
    assert crawl(demo_site, store, "--category", "jeans", "--mode", "html")[0] == 0
    before = len(demo_site.requests())
    code, report, _ = crawl(demo_site, store, "--category", "jeans", "--mode", "html")
    assert code == 0 and report["runs"][0]["items"] == 0
    again = demo_site.requests()[before:]
    assert {e["path"].split("?")[0] for e in again} <= {"/robots.txt", "/catalogue/jeans"}
    assert_complete_without_duplicates(demo_site, store, "jeans")


def test_ledger_missing_for_a_stored_batch_is_rebuilt(
    demo_site: RunningDemoSite,  # noqa: F811
    tmp_path: Path,
) -> None:
    # SIGKILL between a batch upload and its ledger write: the rerun must not duplicate.
    store = str(tmp_path / "store")
    assert crawl(demo_site, store, "--category", "jeans", "--batch-items", "2")[0] == 0
    ledger = sorted(open_store(store).list("raw/demo/jeans/ledger/"))
    open_store(store).delete(ledger[0])
    photos_before = len(photo_requests(demo_site))
    assert crawl(demo_site, store, "--category", "jeans")[0] == 0
    assert len(photo_requests(demo_site)) == photos_before
    assert_complete_without_duplicates(demo_site, store, "jeans")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_killed_mid_crawl_then_rerun(
    demo_site_factory: Any, tmp_path: Path, signum: signal.Signals
) -> None:
    site = demo_site_factory(items_per_category=8)
    store = str(tmp_path / "store")
    args = ("--category", "robes", "--category", "jeans", "--rate", "10", "--batch-items", "3")
    expected = sum(len(expected_items(site, c)) for c in ("robes", "jeans"))
    scratch = tmp_path / "tmp"  # the pod's local temporary folder (an emptyDir in k8s)
    scratch.mkdir()
    pod = start_crawl(site, store, *args, TMPDIR=str(scratch))
    wait_for(lambda: sum(e["status"] == 200 for e in photo_requests(site)) >= 8, what="photos")
    pod.send_signal(signum)
    pod.communicate(timeout=30)
    assert not list(scratch.glob("feed-*"))  # the batch being written is gone with the pod

    stored_ids = [r["item_id"] for c in ("robes", "jeans") for r in records_of(store, c)]
    assert 0 < len(stored_ids) < expected
    for key in open_store(store).list("raw/demo/"):  # no partial object anywhere
        if key.endswith(".jpg"):
            Image.open(io.BytesIO(open_store(store).read_bytes(key))).load()
        elif key.endswith(".jsonl"):
            [json.loads(line) for line in open_store(store).read_text(key).splitlines()]
    if signum == signal.SIGTERM:  # flushed: every photo stored has its record
        photos = set(open_store(store).list("raw/demo/images/"))
        cited = {
            i["path"] for c in ("robes", "jeans") for r in records_of(store, c) for i in r["images"]
        }
        assert photos == cited
        runs = [
            open_store(store).read_json(k) for k in open_store(store).list("raw/demo/robes/runs/")
        ]
        assert [r["status"] for r in runs] == ["interrupted"]

    held = held_photo_urls(store)
    before = len(site.requests())
    code, _, stderr = crawl(site, store, *args)
    assert code == 0, stderr[-2000:]
    refetched = {e["path"] for e in site.requests()[before:] if e["host"] == "images"}
    assert not {u for u in held if any(u.endswith(p) for p in refetched)}
    for category in ("robes", "jeans"):
        assert_complete_without_duplicates(site, store, category)


def test_faults_are_counted_and_skipped(demo_site_factory: Any, tmp_path: Path) -> None:
    site = demo_site_factory(
        faults={
            "server_error": 0.2,
            "server_error_retry_after": 0,
            "slow": 0.1,
            "slow_seconds": 0.3,
            "truncated_image": 0.25,
            "bad_jsonld": 0.3,
            "deleted": 0.1,
        },
    )
    store = str(tmp_path / "store")
    code, report, stderr = crawl(site, store, "--category", "robes", "--mode", "html")
    assert code == 0, stderr[-2000:]
    (run,) = report["runs"]
    assert run["photos_broken"] > 0 and run["retries"] > 0
    records = records_of(store, "robes")
    faults = site.site.faults
    assert not [
        r for r in records if faults.hits("truncated_image", urlsplit(r["images"][0]["url"]).path)
    ]
    live = {
        i.item_id for i in site.universe.listings("robes")
        if not i.deleted and not i.noai and not site.site.faults.hits("deleted", i.item_id)
    }  # fmt: skip
    assert {r["item_id"] for r in records} < live  # truncated ones left for the next run
    for key in open_store(store).list("raw/demo/images/"):
        Image.open(io.BytesIO(open_store(store).read_bytes(key))).load()
    ledger = {
        json.loads(line)["item_id"]
        for key in open_store(store).list("raw/demo/robes/ledger/")
        for line in open_store(store).read_text(key).splitlines()
    }
    assert not (live - {r["item_id"] for r in records}) & ledger  # broken: retried later


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--site", "nope", "--category", "robes"], {}, "unknown site 'nope'"),
        (["--site", "demo", "--category", "nope"], {}, "unknown category 'nope'"),
        (["--site", "demo", "--category", "robes", "--user-agent", "bot"], {}, "contact"),
        (["--site", "demo", "--category", "robes", "--rate", "0"], {}, "--rate must be > 0"),
    ],
    ids=["site", "category", "user-agent", "rate"],
)
def test_bad_input_fails_before_any_request(
    demo_site: RunningDemoSite,  # noqa: F811
    tmp_path: Path,
    args: list[str],
    env: dict[str, str],
    message: str,
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "crawler", "run", "--store", str(tmp_path / "s"), *args]
        + ["--base-url", demo_site.base_url, "--image-base-url", demo_site.image_base_url],
        capture_output=True,
        text=True,
        env=crawl_env(**env),
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and message in done.stderr
    assert demo_site.requests() == []


def test_unreachable_store_or_bad_credentials(
    demo_site: RunningDemoSite,  # noqa: F811
    s3_env: str,
    tmp_path: Path,
) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    cases = [
        ("s3://no-such-bucket/crawl", {}, "does not exist"),
        (str(not_a_folder / "store"), {}, "cannot be created"),
        (
            "s3://no-such-bucket/crawl",
            {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_CONFIG_FILE": os.devnull},
            "credentials",
        ),
    ]  # fmt: skip
    for store, env, message in cases:
        code, _, stderr = crawl(demo_site, store, "--category", "robes", **env)
        assert code == 2 and message in stderr and stderr.count("\n") == 1, stderr
    assert demo_site.requests() == []

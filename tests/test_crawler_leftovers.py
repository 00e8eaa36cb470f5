"""What a SIGKILLed crawl leaves (temporary files, a run stuck ``running``) is put right."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tests.crawler_fixtures import crawl, crawl_command, crawl_env, wait_for
from tests.demo_site_fixtures import RunningDemoSite, demo_site_factory  # noqa: F401


def test_the_next_run_marks_a_killed_run_interrupted_and_removes_its_temporaries(
    demo_site_factory: Callable[..., RunningDemoSite],  # noqa: F811
    tmp_path: Path,
) -> None:
    site = demo_site_factory(items_per_category=30, per_page=10)
    store = tmp_path / "store"
    runs = store / "raw/demo/robes/runs"
    killed = subprocess.Popen(
        crawl_command(site, str(store), "--category", "robes", "--rate", "2"),
        env=crawl_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, umask=0o022,
    )  # fmt: skip

    def stats_files() -> list[Path]:  # not the temporary file of a write in progress
        return [p for p in runs.glob("*.json") if not p.name.startswith(".")]

    wait_for(lambda: runs.is_dir() and bool(stats_files()), 30, "the run's stats")
    killed.send_signal(signal.SIGKILL)  # OOM or node lost: no clean-up at all
    killed.wait()
    (killed_stats,) = stats_files()
    assert json.loads(killed_stats.read_text())["status"] == "running"
    # What a kill mid-write leaves: the category's own, and the shared photo folder's.
    own = store / "raw/demo/robes/items/.r-00001.jsonl.x1y2.tmp"
    old_photo = store / "raw/demo/images/full/.aa.jpg.k3l4.tmp"
    fresh_photo = store / "raw/demo/images/full/.bb.jpg.m5n6.tmp"  # another pod's, in flight
    for path in (own, old_photo, fresh_photo):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half")
    os.utime(old_photo, (time.time() - 7200, time.time() - 7200))

    code, report, stderr = crawl(site, str(store), "--category", "robes", "--rate", "50")
    assert code == 0, stderr[-2000:]
    marked = json.loads(killed_stats.read_text())
    assert marked["status"] == "interrupted" and marked["finish_reason"] == "killed"
    assert marked["found_by"] == report["runs"][0]["run_id"]
    assert not own.exists() and not old_photo.exists() and fresh_photo.exists()
    # Files are readable by a pod of another uid sharing the volume (umask 022 here).
    photo = next(p for p in (store / "raw/demo/images/full").iterdir() if p.suffix == ".jpg")
    assert photo.stat().st_mode & 0o777 == 0o644

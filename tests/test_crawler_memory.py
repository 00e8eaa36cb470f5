"""Memory bounded by construction: a 144 MP photo is refused from its header, not decoded."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.crawler_fixtures import ROOT, crawl, crawl_command, crawl_env, photo_requests
from tests.demo_site_fixtures import RunningDemoSite, demo_site_factory  # noqa: F401

POD_LIMIT_MB = 1024


# The crawl is started by a small Python process, not by pytest itself: on Linux a child
# forked from a big parent (pytest, with TensorFlow loaded by earlier tests) keeps that
# parent's resident-set high-water mark across exec, which would be reported as its own.
_MEASURE = """
import os, subprocess, sys
with subprocess.Popen(sys.argv[2:]) as process:
    _, status, usage = os.wait4(process.pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def _crawl_peak_rss_mb(site: RunningDemoSite, store: str, *args: str) -> tuple[int, str, float]:
    """Run one crawl; its exit code, stdout and peak RSS (of that process alone, in MB)."""
    peak = Path(store).with_suffix(".maxrss")
    command = [sys.executable, "-c", _MEASURE, str(peak), *crawl_command(site, store, *args)]
    result = subprocess.run(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=crawl_env()
    )
    return result.returncode, result.stdout.decode(), int(peak.read_text()) / 1024  # KiB


def test_a_144_megapixel_photo_is_refused_settled_and_memory_stays_low(
    demo_site_factory: Callable[..., RunningDemoSite],  # noqa: F811
    tmp_path: Path,
) -> None:
    site = demo_site_factory(faults={"huge_image": 0.3}, items_per_category=10)
    store = str(tmp_path / "store")
    code, stdout, peak_mb = _crawl_peak_rss_mb(site, store, "--category", "robes")
    assert code == 0
    run = json.loads(stdout)["runs"][0]
    assert (
        run["photos_too_large"] >= 1 and run["skipped"].get("too_large") == run["photos_too_large"]
    )
    assert peak_mb < POD_LIMIT_MB / 4, (
        f"peak RSS {peak_mb:.0f} MB"
    )  # measured: 112 MB (1066 MB without the limit)
    # Settled in the ledger: a rerun fetches none of the huge photos again.
    outcomes = [
        json.loads(line)["outcome"]
        for key in (Path(store) / "raw/demo/robes/ledger").iterdir()
        for line in key.read_text().splitlines()
    ]
    assert outcomes.count("too_large") == run["photos_too_large"]
    before = len(photo_requests(site))
    code, report, _ = crawl(site, store, "--category", "robes")
    assert code == 0 and report["runs"][0]["items"] == 0
    assert len(photo_requests(site)) == before


def test_a_photo_above_the_byte_limit_is_cut_off_and_settled(
    demo_site_factory: Callable[..., RunningDemoSite],  # noqa: F811
    tmp_path: Path,
) -> None:
    # 3000 px of grey is about 0.2 MB of JPEG: above a 50 kB limit, below the pixel one.
    site = demo_site_factory(faults={"huge_image": 0.3, "huge_image_side": 3000})
    store = tmp_path / "store"
    done = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "demo", "-a", "category=robes",
         "-a", f"base_url={site.base_url}", "-a", f"image_base_url={site.image_base_url}",
         "-s", f"S2S_STORE={store}", "-s", "S2S_RATE=50", "-s", "LOG_LEVEL=ERROR",
         "-s", "S2S_PHOTO_MAX_BYTES=50000"],
        capture_output=True, text=True, env=crawl_env(), cwd=ROOT, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    (stats,) = [json.loads(p.read_text()) for p in (store / "raw/demo/robes/runs").iterdir()]
    assert stats["status"] == "finished"
    assert stats["photos_too_large"] >= 1 and stats["skipped"]["too_large"] >= 1
    assert stats["photos_stored"] >= 1  # the others, of normal size, are stored

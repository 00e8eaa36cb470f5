"""Benchmark: a crawl's peak memory with 144-megapixel photos on the demo site.

Prints one markdown section. The demo site serves 30% of its photos as a 12000x12000
JPEG (``huge_image`` fault); the same crawl (``scrapy crawl demo``, one category) runs
with the pixel limit (``S2S_PHOTO_MAX_PIXELS``, default 40 MP) and, as the baseline,
without one (a limit above any photo: the crawler before the limit existed). Peak RSS is
the crawl process's own (``os.wait4``), against the crawl pod's 1 GiB memory limit.

    python bench/crawl_memory_bench.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchkit import header, table  # noqa: E402

from crawler.demo_site import DemoSite, load_config  # noqa: E402

POD_LIMIT_MB = 1024
LIMITS = {"limit 40 MP (default)": 40_000_000, "baseline: no limit": 10**12}


def crawl_peak(site: DemoSite, store: Path, max_pixels: int) -> tuple[float, dict[str, object]]:
    command = [
        sys.executable, "-m", "scrapy", "crawl", "demo", "-a", "category=robes",
        "-a", f"base_url={site.base_url}", "-a", f"image_base_url={site.image_base_url}",
        "-s", f"S2S_STORE={store}", "-s", "S2S_RATE=50", "-s", "LOG_LEVEL=ERROR",
        "-s", f"S2S_PHOTO_MAX_PIXELS={max_pixels}",
    ]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"crawl failed with exit {process.returncode}")
    (run,) = [json.loads(p.read_text()) for p in (store / "raw/demo/robes/runs").iterdir()]
    return usage.ru_maxrss / 1024, run


def main() -> None:
    header(
        "Crawl memory with 144 MP photos (12000x12000 JPEG, 30% of photos)",
        "one category (robes, 10 listings) of the demo site; peak RSS of the crawl process",
    )
    with tempfile.TemporaryDirectory() as folder:
        config = load_config(
            items_per_category=10, photo_size=64, crawl_delay=0.0,
            faults={"huge_image": 0.3}, page_rate="200:50", image_rate="400:100",
        )  # fmt: skip
        site = DemoSite(config)
        site.start()
        try:
            rows = []
            for name, limit in LIMITS.items():
                peak, run = crawl_peak(site, Path(folder, name.split()[0]), limit)
                rows.append([name, f"{peak:.0f}", f"{peak / POD_LIMIT_MB:.0%}",
                             run["photos_stored"], run["photos_too_large"]])  # fmt: skip
        finally:
            site.stop()
    table(["crawl", "peak RSS MB", "of the 1 GiB pod limit", "photos stored", "too_large"], rows)


if __name__ == "__main__":
    main()

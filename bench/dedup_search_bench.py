"""The candidate search of another checkout and of this one, side by side in one run.

The same random hashes (5% planted near copies, as in ``dedup_bench.py``) searched whole
by both implementations, each with ``--workers`` processes or threads, at radius 8 and at
the default radius; the pairs found must be the same. The load average is printed beside
every figure (the machine may be shared).

    PYTHONPATH=. python bench/dedup_search_bench.py --baseline-repo /work/main
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path
from types import ModuleType

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchkit import header, table  # noqa: E402
from dedup_bench import planted_hashes  # noqa: E402

from dataset.dedup import search  # noqa: E402
from dataset.dedup.config import DedupConfig  # noqa: E402


def load_search(repo: str) -> ModuleType:
    path = Path(repo) / "dataset" / "dedup" / "search.py"
    spec = importlib.util.spec_from_file_location("baseline_search", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"dedup_search_bench: no search module at {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its pool's workers look its functions up by name
    spec.loader.exec_module(module)
    return module


def timed(module: ModuleType, hashes: np.ndarray, radius: int, workers: int) -> tuple[float, set]:
    started = time.perf_counter()
    left, right, _dist = module.near_pairs(hashes, radius, workers=workers)
    return time.perf_counter() - started, set(zip(left.tolist(), right.tolist(), strict=True))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline-repo", required=True)
    parser.add_argument("--hashes", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    base = load_search(args.baseline_repo)
    hashes = planted_hashes(args.hashes, np.random.default_rng(2))
    search.near_pairs(hashes[:1000], 10)  # compiled (or loaded from the cache) once, here
    rows = []
    for radius in sorted({8, DedupConfig().radius}):
        load = os.getloadavg()[0]
        base_s, expected = timed(base, hashes, radius, args.workers)
        took, found = timed(search, hashes, radius, args.workers)
        layout = search._chunk_layout(len(hashes), radius)
        rows.append([str(radius), f"{load:.1f} / {os.getloadavg()[0]:.1f}", f"{base_s:.1f}",
                     f"{took:.1f}", f"{base_s / took:.1f}x", f"{len(found):,}",
                     "yes" if found == expected else "**no**",
                     f"{[c.width for c in layout]}, budgets {[c.budget for c in layout]}"])  # fmt: skip
    header(
        "Candidate search: baseline and this branch in one run",
        f"{args.hashes:,} random hashes (5% planted near copies), {args.workers} workers each",
    )
    table(["radius", "load average (before / after)", "baseline (s)", "this branch (s)",
           "speed-up", "pairs", "same pairs", "this branch's chunks"], rows)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

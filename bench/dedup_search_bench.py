"""The candidate search of another checkout and of this one, side by side in one run.

The same 1,000,000 random hashes (5% planted near copies, as in ``dedup_bench.py``): the
cost of one mask of multi-index hashing in one process (a sample of masks of one chunk,
each implementation on its own table; the pairs found must agree) and the number of
masks each searches at the radius. Whole searches of a million hashes take minutes on a
shared machine; this isolates what changed.

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


def load_search(repo: str) -> ModuleType:
    path = Path(repo) / "dataset" / "dedup" / "search.py"
    spec = importlib.util.spec_from_file_location("baseline_search", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"dedup_search_bench: no search module at {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline-repo", required=True)
    parser.add_argument("--hashes", type=int, default=1_000_000)
    parser.add_argument("--radius", type=int, default=10)
    parser.add_argument("--masks", type=int, default=300, help="masks timed per round")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    base = load_search(args.baseline_repo)
    hashes = planted_hashes(args.hashes, np.random.default_rng(2))
    base_layout = base._chunk_layout(len(hashes), args.radius)
    base_masks = sum(len(base._masks(w, args.radius // len(base_layout))) for _s, w in base_layout)
    chunks = search._chunk_layout(len(hashes), args.radius)
    masks = sum(len(search._masks(c.width, c.budget)) for c in chunks)
    shift, width = base_layout[-1]  # a chunk both layouts share
    chunk = next(c for c in chunks if (c.shift, c.width) == (shift, width))
    sample = base._masks(width, args.radius // len(base_layout))[: args.masks]
    base._init(hashes)
    search._init({shift: search._table(hashes, chunk)})
    rows = []
    for round_ in range(1, args.rounds + 1):
        load = os.getloadavg()[0]
        started = time.perf_counter()
        expected = base._pairs_for_masks((shift, width, sample, args.radius))
        base_ms = (time.perf_counter() - started) / len(sample) * 1e3
        started = time.perf_counter()
        found = search._pairs_for_masks((shift, sample, args.radius))
        ms = (time.perf_counter() - started) / len(sample) * 1e3
        same = set(zip(*expected[:2], strict=True)) == set(zip(*found[:2], strict=True))
        rows.append([str(round_), f"{load:.1f}", f"{base_ms:.1f}", f"{ms:.1f}",
                     f"{base_ms / ms:.1f}x", "yes" if same else "**no**"])  # fmt: skip
    header(
        "Candidate search: baseline and this branch in one run",
        f"{args.hashes:,} hashes, radius {args.radius}, {len(sample)} masks of the "
        f"{width}-bit chunk per round, one process; masks searched in all: baseline "
        f"{base_masks:,} (budgets {[args.radius // len(base_layout)] * len(base_layout)}), "
        f"this branch {masks:,} (budgets {[c.budget for c in chunks]})",
    )
    table(["round", "load average", "baseline ms/mask", "this branch ms/mask", "speed-up",
           "same pairs"], rows)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

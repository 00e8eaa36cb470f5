"""Near-duplicate removal: cluster quality on two independent sets, speed, search.

1. Quality, on two sets made by different generators, each run through the command
   ``s2s-dataset dedup`` (defaults) of this checkout and, with ``--baseline-repo``, of that
   checkout, in the same run: the look-alike set (:mod:`dataset.synthetic.lookalikes`, a
   fresh seed: the thresholds were calibrated on seed 1 of it with ``--calibrate``) and
   the demo-family set (:mod:`dataset.synthetic.near_duplicates`, held out).
   Cluster-level pairwise recall and precision, distinct products left without a photo,
   largest cluster. Targets: recall >= 0.95, precision >= 0.98, 0 products without a
   photo, read at the default size: false pairs among look-alikes grow faster than the
   set, so ``--quick`` loses fewer products than 5,000 photos do.
2. Speed of the stage (hash + search + verify + cluster) on the look-alike set, the
   candidates per image (and those past the chroma gate), and the extrapolation to
   100,000 images (target < 5 min), from the wall clock and from the CPU seconds of the
   command (which other jobs on a shared machine do not inflate); with ``--speed-photos``
   also on a larger look-alike set (10,000-20,000 images: the extrapolation's basis);
   with ``--growth`` this checkout's CPU seconds on a look-alike set, its first half and
   60 of its images, fitted as ``a + b n + c n^2`` (look-alikes crowd the search's radius
   as the set grows) and extrapolated to 100,000 images.
3. Hashing throughput per core on 1000x800 JPEGs.
4. Candidate search on 120,000 and 1,000,000 random hashes (5% planted near copies) at
   radius 8 and the default radius (target: 1M in < 30 s), with ``--baseline-repo`` that
   checkout's search on the same hashes (the pairs must be the same).

    PYTHONPATH=. python bench/dedup_bench.py --calibrate          # thresholds from seed 1
    PYTHONPATH=. python bench/dedup_bench.py                      # the targets: 5,000 photos per set
    PYTHONPATH=. nice -n 5 python bench/dedup_bench.py --quick --baseline-repo /work/main \
        --speed-photos 6000 --search-sizes 120000,1000000          # a change against main
    PYTHONPATH=. nice -n 5 python bench/dedup_bench.py --growth 11000   # the fit to 100,000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchkit import header, table  # noqa: E402
from dedup_sets import (  # noqa: E402
    SETS,
    EvalSet,
    cluster_metrics,
    lookalike_set,
    store_set,
    truth_of,
)

from dataset.core.store import Store, open_store  # noqa: E402
from dataset.dedup import DedupConfig  # noqa: E402
from dataset.dedup.calibrate import calibrate, scoring_config  # noqa: E402
from dataset.dedup.hashing import compute_hashes  # noqa: E402
from dataset.dedup.pipeline import score_candidates  # noqa: E402
from dataset.dedup.search import brute_force_pairs, near_pairs  # noqa: E402
from dataset.synthetic.near_duplicates import (  # noqa: E402
    EDIT_KINDS,
    apply_edit,
    encode_jpeg,
    make_designs,
    render_design,
)

RETAILER_120K_S = 30 * 60
BRUTE_SAMPLE = 20_000
GROWTH_SMALLEST = 60  # images of the smallest run of --growth: the command's start-up


# 1. Quality on both sets ------------------------------------------------------------------


REPO = str(Path(__file__).resolve().parents[1])
BASELINE = "main's dedup (baseline)"
BRANCH = "this branch (defaults)"


def run_cli(repo: str, root: str, manifest: pd.DataFrame, out: str) -> tuple[pd.DataFrame, dict]:
    """``s2s-dataset dedup`` of a checkout (its code, its defaults) on the images of
    ``manifest``: the manifest it writes and its summary (``--format json``), with the
    load average before and after and ``cpu_s``, the CPU seconds of the whole command
    (its workers and its start-up included, the same for every checkout)."""
    path = Path(root) / f"{out.replace('/', '-')}.parquet"
    manifest.to_parquet(path)
    command = [sys.executable, "-m", "dataset", "dedup", "--store", root, "--manifest",
               str(path), "--out", out, "--format", "json"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": repo}
    load, before = os.getloadavg()[0], resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, check=True, env=env, capture_output=True, cwd=repo, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    summary = {**json.loads(done.stdout), "load": (load, os.getloadavg()[0]), "cpu_s": cpu}
    return open_store(root).read_parquet(f"{out}/manifest.parquet"), summary


def quality_rows(
    evalsets: list[EvalSet], root: str, baseline_repo: str | None
) -> tuple[list[list[str]], dict[str, Any]]:
    rows = []
    timing: dict[str, dict[str, Any]] = {}  # run -> summary of the first set (speed)
    checkouts = ([(BASELINE, baseline_repo)] if baseline_repo else []) + [(BRANCH, REPO)]
    for number, evalset in enumerate(evalsets):
        runs = []
        for run, (label, repo) in enumerate(checkouts):
            out = f"datasets/set{number}-run{run}"
            frame, summary = run_cli(repo, root, evalset.manifest, out)
            runs.append((label, frame))
            if number == 0:
                timing[label] = summary
        for label, result in runs:
            m = cluster_metrics(evalset, result)
            kinds = ", ".join(
                f"{k[7:]} {v:.2f}" for k, v in m.items() if k.startswith("recall_") and v < 1
            )
            rows.append([evalset.label, label, f"**{m['recall']:.3f}**",
                         f"**{m['precision']:.3f}**", f"{m['false_pairs']:,}",
                         f"{m['orphaned']} of {m['products']:,}", str(m["largest"]),
                         kinds or "all 1.00"])  # fmt: skip
    return rows, timing


def calibration(photos: int, min_precision: float) -> dict[str, Any]:
    """Thresholds of highest recall at ``min_precision`` on the tuning set (seed 1)."""
    with tempfile.TemporaryDirectory(prefix="dedup-calibrate-") as root:
        store = open_store(root)
        label = next(iter(SETS))
        tuning = store_set(store, label, SETS[label](photos, 1), "tune")
        paths = tuning.manifest["image_path"].tolist()
        scores = score_candidates(store, paths, scoring_config(DedupConfig()))
        truth = truth_of(tuning, scores["image_path_a"], scores["image_path_b"])
        result = calibrate(scores, pd.Series(truth), min_precision=min_precision)
    return {**result, "candidates": len(scores), "true_candidates": int(truth.sum())}


# 2. Speed ---------------------------------------------------------------------------------


def speed_runs(
    root: str, photos: int, seed: int, baseline_repo: str | None
) -> tuple[dict[str, dict[str, Any]], float]:
    """The stage of each checkout on a look-alike set of ``photos`` distinct photos: their
    summaries, and the generation time (not counted)."""
    started = time.perf_counter()
    evalset = store_set(open_store(root), "speed", lookalike_set(photos, seed), "speed")
    generate_s = time.perf_counter() - started
    checkouts = ([(BASELINE, baseline_repo)] if baseline_repo else []) + [(BRANCH, REPO)]
    summaries = {
        f"{label}, larger set": run_cli(repo, root, evalset.manifest, f"datasets/speed{run}")[1]
        for run, (label, repo) in enumerate(checkouts)
    }
    return summaries, generate_s


def speed_row(label: str, summary: dict[str, Any]) -> list[str]:
    images = summary["images"]
    seconds = sum(summary["timings"].values())
    stages = ", ".join(f"{k[:-2]} {v:.1f} s" for k, v in summary["timings"].items())
    verified = summary.get("verified_pairs")
    rate = f"{summary['candidate_pairs'] / images:.1f}" + (
        f" ({verified / images:.2f})" if verified is not None else " (-)"
    )
    # CPU seconds do not grow with other jobs' load: spread over the 2 cores, a lower bound
    # of the time on an idle machine.
    cpu = summary["cpu_s"]
    return [label, f"{images:,}", "{:.1f} / {:.1f}".format(*summary["load"]),
            f"{seconds:.1f} s ({stages})", rate, f"{seconds / images * 1e3:.1f}",
            f"{seconds / images * 100_000 / 60:.1f} min", f"{cpu / images * 1e3:.1f}",
            f"{cpu / images * 100_000 / 2 / 60:.1f} min"]  # fmt: skip


def growth_rows(root: str, photos: int, seed: int) -> tuple[list[list[str]], str, float]:
    """This checkout's command on a look-alike set of ``photos`` distinct photos, on its
    first half and on its first :data:`GROWTH_SMALLEST` images (largest first): a table,
    the fit ``a + b n + c n^2`` of the CPU seconds (and of the search's alone) extrapolated
    to 100,000 images, and the generation time (not counted)."""
    started = time.perf_counter()
    evalset = store_set(open_store(root), "growth", lookalike_set(photos, seed), "growth")
    generate_s = time.perf_counter() - started
    total = len(evalset.manifest)
    summaries = [
        run_cli(REPO, root, evalset.manifest.iloc[:images], f"datasets/growth{images}")[1]
        for images in (total, total // 2, GROWTH_SMALLEST)
    ]
    images = np.array([s["images"] for s in summaries], float)
    powers = np.stack([np.ones(3), images, images**2], axis=1)
    whole = np.linalg.solve(powers, [s["cpu_s"] for s in summaries])
    search = np.linalg.solve(powers, [s["cpu_timings"]["search_s"] for s in summaries])
    rows = [
        [f"{s['images']:,}", "{:.1f} / {:.1f}".format(*s["load"]),
         f"{s['candidate_pairs'] / s['images']:.2f}", f"{s['cpu_s']:.1f}",
         f"{s['cpu_s'] / s['images'] * 1e3:.2f}", f"{s['cpu_timings']['search_s']:.2f}"]
        for s in summaries
    ]  # fmt: skip
    n = 100_000
    at = whole @ [1, n, n**2]
    fit = (
        f"Fitted as `a + b n + c n^2` to the three: a = {whole[0]:.1f} s, b = "
        f"{whole[1] * 1e3:.2f} ms per image, c = {whole[2]:.3g} s; 100,000 images: {at:.0f} s "
        f"of CPU, **{at / 2 / 60:.1f} min over the 2 cores** "
        f"({(at - whole[2] * n**2) / 2 / 60:.1f} min without the quadratic term); the search "
        f"alone {search @ [1, n, n**2]:.0f} s of CPU at 100,000, {search[2] * n**2:.0f} s of "
        "it quadratic."
    )
    return rows, fit, generate_s


# 3. Hashing throughput -------------------------------------------------------------------


def photo_files(store: Store, renders: int, variants: int, seed: int) -> list[str]:
    """``renders x variants`` distinct 1000x800 product JPEGs (edited renders) in ``store``."""
    rng = random.Random(seed)
    keys = []
    for index, design in enumerate(make_designs(renders, 1, seed)):
        pixels = render_design(design, (1000, 800))
        for variant in range(variants):
            kind = EDIT_KINDS[variant % len(EDIT_KINDS)]
            data = encode_jpeg(pixels, 90) if variant == 0 else apply_edit(pixels, kind, rng)[0]
            keys.append(f"big/{index:03d}-{variant:02d}.jpg")
            store.write_bytes(keys[-1], data)
    return keys


def hashing_rates(store: Store, keys: list[str]) -> list[list[str]]:
    import imagehash
    from PIL import Image

    rows = []
    start = time.perf_counter()
    for key in keys:
        imagehash.phash(Image.open(store.local_path(key)))
    plain = len(keys) / (time.perf_counter() - start)
    rows.append(["baseline: `imagehash.phash(Image.open(path))`", "1", "phash", f"{plain:.0f}",
                 "x1.0"])  # fmt: skip
    default = DedupConfig().hashes
    for kinds, workers in ((["phash"], 1), (default, 1), (default, 2)):
        start = time.perf_counter()
        _frame, counts = compute_hashes(store, keys, kinds, workers=workers)
        assert counts["bad"] == 0
        rate = len(keys) / (time.perf_counter() - start)
        per_core = rate / workers
        rows.append([
            "`compute_hashes` (DCT-reduced decode, sha1, store read, chroma grid)", str(workers),
            " + ".join(kinds), f"{rate:.0f}" + (f" ({per_core:.0f}/core)" if workers > 1 else ""),
            f"x{per_core / plain:.1f} per core",
        ])  # fmt: skip
    return rows


# 4. Candidate search ---------------------------------------------------------------------


def planted_hashes(n: int, rng: np.random.Generator) -> np.ndarray:
    """Random 64-bit hashes, 5% of them near copies (0-12 bits flipped) of others."""
    hashes = rng.integers(0, 2**63, n, dtype=np.int64).astype(np.uint64) << np.uint64(1)
    hashes ^= rng.integers(0, 2, n).astype(np.uint64)
    copies = n // 20
    source = rng.integers(0, n - copies, copies)
    flips = np.zeros(copies, np.uint64)
    for k, count in enumerate(rng.integers(0, 13, copies)):
        for bit in rng.choice(64, size=count, replace=False):
            flips[k] |= np.uint64(1) << np.uint64(int(bit))
    hashes[n - copies :] = hashes[source] ^ flips
    return hashes


# Another checkout's search, in a process of its own: its search imports its own probe.
BASELINE_SEARCH = """
import sys, time
import numpy as np
from dataset.dedup.search import near_pairs
hashes = np.load(sys.argv[1])
near_pairs(hashes[:1000], 10)  # compiled, or loaded from numba's cache, once
started = time.perf_counter()
left, right, _dist = near_pairs(hashes, int(sys.argv[3]), workers=int(sys.argv[4]))
np.savez(sys.argv[2], left=left, right=right, took=time.perf_counter() - started)
"""


def baseline_search(
    repo: str, hashes: np.ndarray, radius: int, workers: int
) -> tuple[float, set[tuple[int, int]]]:
    """``near_pairs`` of the checkout ``repo`` on ``hashes``: its time and its pairs."""
    with tempfile.TemporaryDirectory(prefix="dedup-search-") as folder:
        np.save(f"{folder}/hashes.npy", hashes)
        command = [sys.executable, "-c", BASELINE_SEARCH, f"{folder}/hashes.npy",
                   f"{folder}/pairs.npz", str(radius), str(workers)]  # fmt: skip
        subprocess.run(command, check=True, cwd=repo, env={**os.environ, "PYTHONPATH": repo})
        found = np.load(f"{folder}/pairs.npz")
        pairs = set(zip(found["left"].tolist(), found["right"].tolist(), strict=True))
        return float(found["took"]), pairs


def timed_search(
    search: Any, hashes: np.ndarray, radius: int, workers: int
) -> tuple[float, set[tuple[int, int]]]:
    started = time.perf_counter()
    left, right, _dist = search(hashes, radius, workers=workers)
    return time.perf_counter() - started, set(zip(left.tolist(), right.tolist(), strict=True))


def search_rows(
    sizes: list[int], workers: int, seed: int, baseline_repo: str | None
) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    sample = planted_hashes(BRUTE_SAMPLE, rng)
    start = time.perf_counter()
    brute_force_pairs(sample, 8)
    brute_s = time.perf_counter() - start
    near_pairs(sample[:1000], 10)  # compiled, or loaded from numba's cache, once
    rows = []
    for n in sizes:
        hashes = planted_hashes(n, rng)
        brute_n = brute_s * (n / BRUTE_SAMPLE) ** 2
        retailer = f"{RETAILER_120K_S / 60:.0f} min" if n == 120_000 else "-"
        for radius in sorted({8, DedupConfig().radius}):
            load = os.getloadavg()[0]
            took, found = timed_search(near_pairs, hashes, radius, workers)
            base = "-"
            if baseline_repo is not None:
                base_s, expected = baseline_search(baseline_repo, hashes, radius, workers)
                same = "same pairs" if expected == found else "**other pairs**"
                base = f"{base_s:.1f} s ({base_s / took:.1f}x slower; {same})"
            rows.append([f"{n:,}", str(radius), f"{load:.1f}", f"{took:.1f}", f"{len(found):,}",
                         base, f"{brute_n:,.0f} s ({brute_n / took:,.0f}x slower)", retailer])  # fmt: skip
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true",
                        help="1,000 distinct photos per set, 96 big JPEGs, 120k search only")  # fmt: skip
    parser.add_argument("--photos", type=int, help="distinct photos per set (default 5,000)")
    parser.add_argument("--calibrate", action="store_true",
                        help="only calibrate the thresholds on the tuning set and print them")  # fmt: skip
    parser.add_argument("--min-precision", type=float, default=0.995,
                        help="pair precision floor of --calibrate (docs/dedup.md)")  # fmt: skip
    parser.add_argument(
        "--baseline-repo", help="a checkout whose s2s-dataset dedup is the baseline"
    )
    parser.add_argument("--search-sizes", help="comma-separated hash counts")
    parser.add_argument("--speed-photos", type=int,
                        help="also time the stage on a look-alike set of this many distinct "
                             "photos (about 1.8 images each; generation not counted)")  # fmt: skip
    parser.add_argument("--growth", type=int,
                        help="only fit this checkout's CPU seconds on a look-alike set of this "
                             "many distinct photos, its half and 60 images (to 100,000)")  # fmt: skip
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2)
    args = parser.parse_args()
    photos = args.photos or (1000 if args.quick else 5000)
    if args.calibrate:
        header("Dedup calibration", f"tuning set: look-alikes, {photos:,} photos, seed 1")
        print(calibration(photos, args.min_precision), "\n")
        return 0
    if args.growth:
        with tempfile.TemporaryDirectory(prefix="dedup-growth-") as root:
            rows, fit, generate_s = growth_rows(root, args.growth, args.seed + 1)
        header("Dedup growth", f"look-alikes, {args.growth:,} distinct photos, seed "
                               f"{args.seed + 1}, generated in {generate_s:.0f} s (not counted)")  # fmt: skip
        table(["images", "load average (start / end)", "candidates per image",
               "CPU s (whole command)", "CPU ms per image", "search CPU s"], rows)  # fmt: skip
        print(fit, "\n")
        return 0
    sizes = [int(s) for s in (args.search_sizes or ("120000" if args.quick else
                                                     "120000,1000000")).split(",")]  # fmt: skip
    renders = 8 if args.quick else 24

    started = time.perf_counter()
    evalsets_raw = {label: make(photos, args.seed) for label, make in SETS.items()}
    generate_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="dedup-bench-") as root:
        store = open_store(root)
        evalsets = [
            store_set(store, label, bench, f"set{k}")
            for k, (label, bench) in enumerate(evalsets_raw.items())
        ]
        quality, timing = quality_rows(evalsets, root, args.baseline_repo)
        big = photo_files(store, renders, 12, args.seed)
        hash_rows = hashing_rates(store, big)
    if args.speed_photos:
        with tempfile.TemporaryDirectory(prefix="dedup-speed-") as root:
            larger, speed_generate_s = speed_runs(
                root, args.speed_photos, args.seed + 1, args.baseline_repo
            )
        timing.update(larger)
    speed = [speed_row(label, summary) for label, summary in timing.items()]
    search = search_rows(sizes, args.workers, args.seed, args.baseline_repo)

    header(
        "Near-duplicate removal (issue 12)",
        f"{photos:,} distinct photos per set plus their edited copies: "
        + "; ".join(f"{e.label}: {len(e.manifest):,} images, "
                    f"{len(e.bench.true_pairs()):,} true pairs" for e in evalsets)
        + f"; generation {generate_s:.0f} s (not counted)",
    )  # fmt: skip
    print("**Clusters** (pairs inside one cluster vs the true groups; targets recall >= 0.95, "
          "precision >= 0.98, 0 products without a photo):\n")  # fmt: skip
    table(["set", "run", "recall", "precision", "false pairs", "products without a photo",
           "largest cluster", "recall by edit (< 1 only)"], quality)  # fmt: skip

    print(f"**Speed** ({evalsets[0].label}, default config, every core; the stage's own "
          "timings; 100,000 images extrapolated linearly, the candidates per image being "
          "capped; target < 5 min"
          + (f"; the larger set: seed {args.seed + 1}, generated in {speed_generate_s:.0f} s, "
             "not counted" if args.speed_photos else "") + "):\n")  # fmt: skip
    table(["run", "images", "load average (start / end)", "hash + search + verify + cluster",
           "candidates per image (past the chroma gate)", "ms per image", "100,000 images",
           "CPU ms per image (whole command)", "100,000 images, CPU / 2 cores"],
          speed)  # fmt: skip

    print(f"**Hashing throughput** on {len(big)} JPEGs of 1000x800 px:\n")
    table(["hasher", "processes", "hashes", "images/s", "vs baseline"], hash_rows)

    print("**Candidate search** (random 64-bit hashes, 5% planted near copies; multi-index "
          f"hashing with {args.workers} workers, the baseline's on the same hashes; all-pairs "
          f"timed on {BRUTE_SAMPLE:,} and extrapolated as N^2; target: 1,000,000 at the "
          "default radius in under 30 s):\n")  # fmt: skip
    table(["hashes", "radius", "load average", "near_pairs (s)", "pairs found",
           "baseline near_pairs", "all pairs O(N^2)", "retailer (k-means on CNN codes)"],
          search)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

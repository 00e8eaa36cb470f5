"""Near-duplicate detection: recall/precision per edit kind, hashing, search and verification.

Four measurements, each against the baseline issue 4 names:

1. Recall and precision on a generated set (:mod:`dataset.synthetic.near_duplicates`):
   distinct product-like photos (one garment on a plain backdrop) in families of 4 that
   share silhouette and colour (the hard negatives), each with one edited copy (JPEG
   re-encode, resize, shift 2-8 px, 4% crop, +12% brightness, cycled). Run through the
   real entry point :func:`dataset.dedup.find_duplicates` with: plain pHash at radius 8
   (the retailer's baseline: recall 0.68, precision 0.11), our stage 1 alone, and
   stages 1+2 (the default config; targets recall and precision >= 0.95).
2. Hashing throughput per core on 1000x800 JPEGs: :func:`compute_hashes` (reduced-size
   DCT decode, one process) vs ``imagehash.phash(Image.open(path))`` (full decode).
3. Candidate search on 120,000 and 1,000,000 hashes (random 64-bit hashes with 5%
   planted near copies): :func:`near_pairs` (multi-index hashing, 2 processes) vs the
   all-pairs comparison (timed on 20,000, extrapolated as N^2) and vs the retailer's
   30 min for 120,000 images (k-means on CNN encodings).
4. Verification: candidate pairs per second of stage 2 (thumbnails included), from
   the stages 1+2 run, and the pair comparison alone on precomputed thumbnails.

    PYTHONPATH=. python bench/dedup_bench.py --quick   # 400 distinct photos, 120k search
    PYTHONPATH=. python bench/dedup_bench.py           # 2,000 distinct photos, 120k + 1M
"""

from __future__ import annotations

import argparse
import random
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

from dataset.core.store import Store, open_store  # noqa: E402
from dataset.dedup import DedupConfig, find_duplicates  # noqa: E402
from dataset.dedup.hashing import compute_hashes  # noqa: E402
from dataset.dedup.search import brute_force_pairs, near_pairs  # noqa: E402
from dataset.dedup.verify import compare, thumbnail  # noqa: E402
from dataset.synthetic.near_duplicates import (  # noqa: E402
    EDIT_KINDS,
    NearDuplicateSet,
    apply_edit,
    encode_jpeg,
    make_designs,
    make_near_duplicate_set,
    render_design,
)

RETAILER_120K_S = 30 * 60
BRUTE_SAMPLE = 20_000


# 1. Recall and precision ---------------------------------------------------------------


def store_set(store: Store, bench: NearDuplicateSet) -> tuple[pd.DataFrame, dict[str, str]]:
    """Write the images; a manifest and store key -> image name."""
    name_of = {}
    for name, data in bench.images.items():
        key = f"img/{name}.jpg"
        store.write_bytes(key, data)
        name_of[key] = name
    manifest = pd.DataFrame({"image_path": list(name_of), "source": "marketplace"})
    return manifest, name_of


def metrics(bench: NearDuplicateSet, found: set[tuple[str, str]]) -> dict[str, Any]:
    truth = bench.true_pairs()
    hits: dict[str, list[bool]] = {}
    for pair in truth:
        hits.setdefault(bench.pair_kind(*pair), []).append(pair in found)
    false = found - truth
    return {
        **{f"recall_{kind}": float(np.mean(v)) for kind, v in hits.items()},
        "recall": len(found & truth) / len(truth),
        "precision": len(found & truth) / max(len(found), 1),
        "false": len(false),
        "false_same_family": sum(bench.family[a] == bench.family[b] for a, b in false),
    }


def recall_runs(bench: NearDuplicateSet, root: str) -> list[tuple[str, dict, dict]]:
    store = open_store(root)
    manifest, name_of = store_set(store, bench)
    configs = [
        ("plain pHash, radius 8 (issue baseline)", DedupConfig(hashes=["phash"], radius=8,
                                                               verify=False)),
        ("stage 1 alone: pHash + object pHash, radius 10", DedupConfig(verify=False)),
        ("stages 1+2 (default config)", DedupConfig()),
    ]  # fmt: skip
    runs = []
    for number, (label, config) in enumerate(configs):
        out = f"datasets/bench/run{number}"
        _frame, summary = find_duplicates(store, manifest, config, out=out)
        pairs = store.read_parquet(f"{out}/duplicates.parquet")
        found = {
            tuple(sorted((name_of[a], name_of[b])))
            for a, b in zip(pairs["image_path_a"], pairs["image_path_b"], strict=True)
        }
        runs.append((label, metrics(bench, found), summary))  # type: ignore[arg-type]
    return runs


# 2. Hashing throughput -------------------------------------------------------------------


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
    for kinds, workers in ((["phash"], 1), (["phash", "phash_object"], 1),
                           (["phash", "phash_object"], 2)):  # fmt: skip
        start = time.perf_counter()
        _frame, counts = compute_hashes(store, keys, kinds, workers=workers)
        assert counts["bad"] == 0
        rate = len(keys) / (time.perf_counter() - start)
        per_core = rate / workers
        rows.append([
            "`compute_hashes` (DCT-reduced decode, sha1, store read)", str(workers),
            " + ".join(kinds), f"{rate:.0f}" + (f" ({per_core:.0f}/core)" if workers > 1 else ""),
            f"x{per_core / plain:.1f} per core",
        ])  # fmt: skip
    return rows


# 3. Candidate search ---------------------------------------------------------------------


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


def search_rows(sizes: list[int], workers: int, seed: int) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    sample = planted_hashes(BRUTE_SAMPLE, rng)
    start = time.perf_counter()
    brute_force_pairs(sample, 8)
    brute_s = time.perf_counter() - start
    rows = []
    for n in sizes:
        hashes = planted_hashes(n, rng)
        brute_n = brute_s * (n / BRUTE_SAMPLE) ** 2
        retailer = f"{RETAILER_120K_S / 60:.0f} min" if n == 120_000 else "-"
        for radius in (8, 10):
            start = time.perf_counter()
            left, _right, _dist = near_pairs(hashes, radius, workers=workers)
            took = time.perf_counter() - start
            rows.append([f"{n:,}", str(radius), f"{took:.1f}", f"{len(left):,}",
                         f"{brute_n:,.0f} s ({brute_n / took:,.0f}x slower)", retailer])  # fmt: skip
    return rows


# 4. Verification -------------------------------------------------------------------------


def compare_rate(bench: NearDuplicateSet, pairs: int, seed: int) -> tuple[float, float]:
    """Thumbnails/s and pair comparisons/s (one process) on the generated photos."""
    config = DedupConfig()
    images = list(bench.images.values())[:200]
    start = time.perf_counter()
    thumbs = [thumbnail(data, config.thumb_size, config.max_pixels) for data in images]
    thumbs_rate = len(images) / (time.perf_counter() - start)
    rng = np.random.default_rng(seed)
    chosen = rng.integers(0, len(thumbs), (pairs, 2))
    start = time.perf_counter()
    for i, j in chosen:
        compare(thumbs[i], thumbs[j])
    return thumbs_rate, pairs / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true",
                        help="400 distinct photos, 96 big JPEGs, search on 120k only")  # fmt: skip
    parser.add_argument("--families", type=int, help="families of 4 distinct photos")
    parser.add_argument("--size", type=int, default=256, help="side of the generated photos")
    parser.add_argument("--search-sizes", help="comma-separated hash counts")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    families = args.families or (100 if args.quick else 500)
    sizes = [int(s) for s in (args.search_sizes or ("120000" if args.quick else
                                                     "120000,1000000")).split(",")]  # fmt: skip
    renders = 8 if args.quick else 24

    started = time.perf_counter()
    bench = make_near_duplicate_set(
        n_families=families, family_size=4, copies_per_image=1.0,
        size=(args.size, args.size), seed=args.seed,
    )  # fmt: skip
    generate_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="dedup-bench-") as root:
        runs = recall_runs(bench, root)
        store = open_store(root)
        big = photo_files(store, renders, 12, args.seed)
        hash_rows = hashing_rates(store, big)
    search = search_rows(sizes, args.workers, args.seed)
    thumbs_rate, pairs_rate = compare_rate(bench, 2000, args.seed)

    distinct = families * 4
    header(
        "Near-duplicate detection (issue 4)",
        f"{distinct:,} distinct generated photos ({families} families of 4 sharing silhouette "
        f"and colour: the hard negatives), {len(bench.copies):,} edited copies "
        f"({args.size}x{args.size} px, one edit each, kinds cycled), "
        f"{len(bench.true_pairs()):,} true pairs; generation {generate_s:.0f} s (not counted)",
    )
    print("**Recall and precision** (pairs of the set; `false` = wrong pairs, of which between "
          "two garments of the same family):\n")  # fmt: skip
    kinds = list(EDIT_KINDS)
    rows = []
    for label, m, summary in runs:
        rows.append([label, *(f"{m.get(f'recall_{k}', float('nan')):.3f}" for k in kinds),
                     f"**{m['recall']:.3f}**", f"**{m['precision']:.3f}**",
                     f"{m['false']:,} ({m['false_same_family']:,})",
                     f"{summary['candidate_pairs']:,}"])  # fmt: skip
    rows.append(["retailer's plain pHash, radius 8 (issue 4)", *[""] * len(kinds), "0.68",
                 "0.11", "992", ""])  # fmt: skip
    rows.append(["target", *[""] * len(kinds), ">= 0.95", ">= 0.95", "", ""])
    table(["method", *(f"recall {k}" for k in kinds), "recall", "precision",
           "false pairs (same family)", "candidates"], rows)  # fmt: skip

    stage2 = runs[-1][2]
    verify_s = stage2["timings"]["verify_s"]
    print(f"**Hashing throughput** on {len(big)} JPEGs of 1000x800 px (issue 4: plain imagehash "
          "about 70 images/s on this machine; target >= 300 per core):\n")  # fmt: skip
    table(["hasher", "processes", "hashes", "images/s", "vs baseline"], hash_rows)

    print("**Candidate search** (random 64-bit hashes, 5% planted near copies; multi-index "
          f"hashing with {args.workers} processes; all-pairs timed on {BRUTE_SAMPLE:,} and "
          "extrapolated as N^2; issue target: 1,000,000 at radius 8 in under 30 s):\n")  # fmt: skip
    table(["hashes", "radius", "near_pairs (s)", "pairs found", "all pairs O(N^2)",
           "retailer (k-means on CNN codes)"], search)  # fmt: skip

    print("**Verification** (stage 2):\n")
    table(
        ["measure", "rate"],
        [
            [
                f"stage 2 in `find_duplicates` ({stage2['candidate_pairs']:,} candidate pairs, "
                f"thumbnails included, one process)",
                f"{stage2['candidate_pairs'] / max(verify_s, 1e-9):,.0f} pairs/s",
            ],
            [
                "thumbnails (decode, crop, grey + chroma), one process",
                f"{thumbs_rate:,.0f} images/s",
            ],
            [
                "pair comparison alone (phase correlation + 2 NCC, frame and object views)",
                f"{pairs_rate:,.0f} pairs/s",
            ],
        ],  # fmt: skip
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

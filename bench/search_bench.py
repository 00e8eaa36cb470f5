"""Street-to-shop search benchmark: prints one markdown section for docs/benchmarks.md.

Part 1 (always): query latency (p50/p99, one query at a time, CPU) and index build time
for galleries of 10,000 and 200,000 products, exact search versus the IVF index, with
the recall the IVF loses. Embeddings are synthetic but shaped like the real ones:
4 tasks x 1000 dims, L2-normalised, products grouped around 200 "looks" (so an
approximate index has structure to exploit), queries are a product's vector plus noise
(a shopper's photo of it). Build time excludes encoding (that is the encoder's cost):
exact = float16 conversion + writing the index; IVF = that + k-means + cell assignment.

Part 2 (when given two encoders): top-k on the demo pairs for the shared-backbone encoder
versus the --separate one, by running `s2s-train eval-retrieval` on each.

Usage:
  PYTHONPATH=. python bench/search_bench.py                       # 10k and 200k (~8 GB RAM)
  PYTHONPATH=. python bench/search_bench.py --sizes 2000,10000 --queries 50
  PYTHONPATH=. python bench/search_bench.py --shared data/models/enc/shared/export \\
      --separate data/models/enc/separate/export --pairs data/datasets/demo/v1
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from training.retrieval.embed import Combination  # noqa: E402
from training.retrieval.index import SearchIndex  # noqa: E402
from training.retrieval.knn import default_nlist, exact_topk  # noqa: E402

DIMS = 4 * 1000
LOOKS = 200
K = 10


def synthetic(
    n: int, queries: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gallery (n, DIMS), queries and each query's true product row; all unit rows."""
    centres = rng.standard_normal((LOOKS, DIMS), dtype=np.float32)
    x = np.empty((n, DIMS), dtype=np.float32)
    looks = rng.integers(0, LOOKS, n)
    for start in range(0, n, 20_000):
        stop = min(n, start + 20_000)
        x[start:stop] = centres[looks[start:stop]]
        x[start:stop] += 1.2 * rng.standard_normal((stop - start, DIMS), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    truth = rng.choice(n, queries, replace=False)
    q = x[truth] + 0.03 * rng.standard_normal((queries, DIMS), dtype=np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return x, q, truth


def latencies(fn: Callable[[np.ndarray], object], queries: np.ndarray) -> np.ndarray:
    times = []
    for query in queries:
        start = time.perf_counter()
        fn(query[None])
        times.append(time.perf_counter() - start)
    return np.array(times) * 1000


def bench_size(n: int, queries: int, seed: int) -> list[dict[str, object]]:
    rng = np.random.default_rng(seed)
    x, q, truth = synthetic(n, queries, rng)
    items = pd.DataFrame(
        {"product_id": [f"p{i}" for i in range(n)], "image_path": "", "pair_id": ""}
    )
    combination = Combination(
        ("colour", "material", "gender", "type"),
        {t: 1.0 for t in ("colour", "material", "gender", "type")},
    )
    index = SearchIndex(x, items, "bench", combination)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        index.save(os.path.join(tmp, "exact"))
        build_exact = time.perf_counter() - start
        exact_ids = exact_topk(x, q, K)[1]
        exact_hit = float(np.mean([t in row for t, row in zip(truth, exact_ids, strict=True)]))
        ms = latencies(lambda v: index.search(v, K), q)
        rows.append({"n": n, "method": "exact (matrix product)", "build_s": build_exact,
                     "p50": np.percentile(ms, 50), "p99": np.percentile(ms, 99),
                     "recall": 1.0, "hit": exact_hit})  # fmt: skip
        start = time.perf_counter()
        ivf_index = index.with_ivf(default_nlist(n))
        ivf_index.save(os.path.join(tmp, "ivf"))
        build_ivf = time.perf_counter() - start
        assert ivf_index.ivf is not None
        # Row numbers changed with the cell order: compare by product id.
        ids_exact = items["product_id"].to_numpy()[exact_ids]
        order_ids = ivf_index.items["product_id"].to_numpy()
        for nprobe in sorted({ivf_index.ivf.default_nprobe(), max(1, ivf_index.ivf.nlist // 4)}):
            found = ivf_index.search(q, K, approximate=True, nprobe=nprobe)[1]
            ids = order_ids[np.maximum(found, 0)]
            recall = np.mean(
                [len(set(a) & set(e)) / K for a, e in zip(ids, ids_exact, strict=True)]
            )
            hit = float(np.mean([f"p{t}" in row for t, row in zip(truth, ids, strict=True)]))
            ms = latencies(lambda v, p=nprobe: ivf_index.search(v, K, True, p), q)
            rows.append({"n": n, "method": f"IVF nlist={ivf_index.ivf.nlist} nprobe={nprobe}",
                         "build_s": build_ivf, "p50": np.percentile(ms, 50),
                         "p99": np.percentile(ms, 99), "recall": recall, "hit": hit})  # fmt: skip
    return rows


def eval_pairs(encoder: str, pairs: str) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, "-m", "training", "eval-retrieval", "--encoder", encoder,
         "--pairs", pairs, "--top-k", "1,5,10,20", "--format", "json"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(done.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,200000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shared", help="exported shared-backbone encoder")
    parser.add_argument("--separate", help="exported --separate encoder")
    parser.add_argument("--pairs", help="demo dataset (manifest) with pair_ids")
    args = parser.parse_args()

    print("## Street-to-shop search\n")
    print(f"Command: `PYTHONPATH=. python bench/search_bench.py --sizes {args.sizes} --queries {args.queries}`"
          + (" --shared ... --separate ... --pairs ..." if args.shared else "") + "\n")  # fmt: skip
    print(f"CPU ({os.cpu_count()} cores), numpy {np.__version__}; synthetic L2-normalised embeddings of "
          f"{DIMS} dims (4 tasks x 1000) in {LOOKS} looks; one query at a time; top-{K}. "
          "Baseline: exact search. *recall@10* = share of the exact top-10 the IVF returns; "
          "*hit@10* = the query's own product in the top 10.\n")  # fmt: skip
    print("| gallery | method | build (s) | p50 (ms) | p99 (ms) | recall@10 vs exact | hit@10 |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for n in (int(s) for s in args.sizes.split(",")):
        for r in bench_size(n, args.queries, args.seed):
            print(f"| {r['n']:,} | {r['method']} | {r['build_s']:.1f} | {r['p50']:.1f} | "
                  f"{r['p99']:.1f} | {r['recall']:.3f} | {r['hit']:.3f} |")  # fmt: skip
    print()
    if args.shared and args.separate and args.pairs:
        print(f"Top-k on the demo pairs ({args.pairs}), retailer's reference top-10: 22% "
              "(catalogue only), 31% (with marketplace data):\n")  # fmt: skip
        print("| encoder | queries | top-1 | top-5 | top-10 | top-20 |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, uri in (("shared backbone", args.shared), ("--separate", args.separate)):
            report = eval_pairs(uri, args.pairs)
            cells = " | ".join(
                f"{100 * (report['top_k'][k] or 0):.1f}%" for k in ("1", "5", "10", "20")
            )
            print(f"| {name} | {report['evaluated']} | {cells} |")
    else:
        print("Shared vs `--separate` encoders on the demo pairs: not run (pass --shared, "
              "--separate and --pairs once both encoders are exported).")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

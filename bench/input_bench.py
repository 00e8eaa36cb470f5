"""Input pipeline rate per core: ``tf.data`` against the pure-Python shard reader.

Both pipelines read the same 224 px shards and do the whole training path: read,
checksum, parse, decode, augment (rotation, translation, flip, JPEG re-encoding, each
with its probability), repeat and batch. Each measurement runs in its own process pinned
to ``k`` cores (``os.sched_setaffinity``), the Python pipeline with ``k`` decoding
threads (as ``s2s-train fit`` runs it), so "per core" means what one core delivers.
Without TensorFlow (a JAX node) only the Python pipeline is measured.

  PYTHONPATH=. python bench/input_bench.py [--dataset URI] [--cores 1,2] [--batches 40]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from benchkit import header, table  # noqa: E402


def tensorflow_installed() -> bool:
    return importlib.util.find_spec("tensorflow") is not None


def measure(dataset: str, pipeline: str, cores: int, batch: int, batches: int) -> float:
    """Training images/s of ``pipeline`` in this process, pinned to ``cores`` cores."""
    os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:cores])
    from training.config import AugmentConfig
    from training.data import stage_dataset
    from training.inputs import batches as make_batches
    from training.inputs import scan_records

    info = stage_dataset(dataset)
    scan = scan_records(info, "train", info.tasks, pipeline)
    data = make_batches(info, "train", info.tasks, scan, batch, info.image_size, pipeline,
                        training=True, augment=AugmentConfig.model_validate({}), steps=batches + 1)  # fmt: skip
    if pipeline == "tf_data":
        iterator = iter(data)
        next(iterator)  # builds the graph and fills the shuffle buffer
        start = time.perf_counter()
        for _ in range(batches):
            next(iterator)
        return batches * batch / (time.perf_counter() - start)
    data[0]  # warm-up: opens the files, as the first step of fit does
    with ThreadPoolExecutor(cores) as pool:  # PyDataset's workers: one thread per core
        start = time.perf_counter()
        for _ in pool.map(data.__getitem__, range(1, batches + 1)):
            pass
        return batches * batch / (time.perf_counter() - start)


def run_one(dataset: str, pipeline: str, cores: int, batch: int, batches: int) -> float:
    env = dict(os.environ)
    env.setdefault("KERAS_BACKEND", "tensorflow" if tensorflow_installed() else "jax")
    command = [sys.executable, __file__, "--one", pipeline, "--dataset", dataset,
               "--cores", str(cores), "--batch", str(batch), "--batches", str(batches)]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{pipeline} on {cores} core(s) failed:\n{done.stderr[-2000:]}")
    return float(json.loads(done.stdout.strip().splitlines()[-1])["images_per_s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", help="dataset URI (default: a generated 224 px toy set)")
    parser.add_argument("--cores", default=f"1,{len(os.sched_getaffinity(0))}")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3, help="best of N (load only slows)")
    parser.add_argument("--one", choices=["tf_data", "python"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    cores = sorted({int(c) for c in args.cores.split(",")})
    if args.one:
        rate = measure(args.dataset, args.one, cores[0], args.batch, args.batches)
        print(json.dumps({"images_per_s": rate}))
        return
    with tempfile.TemporaryDirectory() as tmp:
        dataset = args.dataset
        if dataset is None:
            from tests.training_fixtures import write_training_dataset

            dataset = write_training_dataset(Path(tmp), per_cell=12, image_size=224,
                                             shard_size=100)  # fmt: skip
        pipelines = ["tf_data", "python"] if tensorflow_installed() else ["python"]
        best: dict[tuple[str, int], float] = {}
        for _ in range(args.repeats):  # interleaved: a burst of load hits every row alike
            for k in cores:
                for pipeline in pipelines:
                    rate = run_one(dataset, pipeline, k, args.batch, args.batches)
                    best[pipeline, k] = max(rate, best.get((pipeline, k), 0.0))
        rows = [[p, k, f"{r:,.0f}", f"{r / k:,.0f}"] for (p, k), r in best.items()]
    header(
        "Input pipeline per core: tf.data vs the pure-Python reader (issue 17)",
        f"{'generated 224 px' if args.dataset is None else 'the given'} shards, training path "
        f"(decode + augment + batch {args.batch}), "
        f"{args.batches} timed batches, best of {args.repeats} interleaved runs; tf.data: {'yes' if tensorflow_installed() else 'not installed'}",
    )
    table(["pipeline", "cores", "images/s", "images/s per core"], rows, "lrrr")


if __name__ == "__main__":
    main()

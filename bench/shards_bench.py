"""Training shards: writing images/s, and reading with tf.data vs one JPEG file at a time.

Source photos are demo marketplace photos (:class:`dataset.synthetic.DemoUniverse`) in a
local store. Writing: :func:`dataset.shards.export.export_shards` (read, pad to square, resize to
224, re-encode, write TFRecord) with the TensorFlow writer and the pure-Python writer.
Reading, every image decoded to a 224x224x3 tensor:

- shards: ``tf.data.TFRecordDataset`` (parallel reads) -> parse -> ``decode_jpeg``
  (parallel map) -> batch 64 -> prefetch;
- baseline: the same 224-px JPEGs as one file each, read and decoded one by one in a
  Python loop (PIL), and, to separate the file layout from the parallelism, a tf.data
  pipeline over the individual files with the same parallel decode.

On a local disk with a warm page cache small files cost little; from S3 every file is
a request (tens of ms), which is where a few large shards matter most.

    PYTHONPATH=. python bench/shards_bench.py --quick   # 500 images
    PYTHONPATH=. python bench/shards_bench.py           # 4,000 images
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchkit import header, table  # noqa: E402

from dataset.core.store import Store, open_store  # noqa: E402
from dataset.shards.export import ExportConfig, export_shards, square_jpeg  # noqa: E402
from dataset.synthetic import DemoUniverse  # noqa: E402
from dataset.taxonomy.schema import HOUSE_TAXONOMY  # noqa: E402
from dataset.taxonomy.tasks import TaskSpec, task_specs  # noqa: E402

BATCH = 64


def source_photos(store: Store, count: int, size: int, seed: int) -> pd.DataFrame:
    """``count`` demo listing photos in the store and a manifest with labels and splits."""
    universe = DemoUniverse(seed, items_per_category=max(40, count // 20))
    rows = []
    listings = universe.all_listings()
    rng = np.random.default_rng(seed)
    for index in range(count):
        listing = listings[index % len(listings)]
        photo = listing.photo_ids[(index // len(listings)) % len(listing.photo_ids)]
        key = f"raw/demo/images/{index:06d}.jpg"
        store.write_bytes(key, universe.render_listing_photo(photo, size=size))
        look = listing.design.look()
        rows.append({
            "image_path": key, "source": "marketplace", "colour": list(look.colours),
            "material": list(look.materials), "gender": [look.gender], "type": [look.type],
            "split": rng.choice(["train", "val", "test"], p=[0.8, 0.1, 0.1]),
        })  # fmt: skip
    return pd.DataFrame(rows)


def write_rate(
    store: Store, manifest: pd.DataFrame, specs: dict[str, TaskSpec], writer: str, shard_size: int
) -> tuple[float, int]:
    config = ExportConfig(writer=writer, shard_size=shard_size, workers=2)
    started = time.perf_counter()
    exported, summary = export_shards(store, manifest, specs, f"datasets/{writer}", config)
    took = time.perf_counter() - started
    assert len(exported) == len(manifest) and not summary["bad"]
    return len(manifest) / took, len(summary["files"]) - 1


def read_shards(files: list[str], size: int, epochs: int) -> tuple[float, int]:
    import tensorflow as tf

    spec = {"image": tf.io.FixedLenFeature([], tf.string)}

    def decode(record: tf.Tensor) -> tf.Tensor:
        image = tf.io.decode_jpeg(tf.io.parse_single_example(record, spec)["image"], channels=3)
        return tf.ensure_shape(image, (size, size, 3))

    dataset = (
        tf.data.TFRecordDataset(files, num_parallel_reads=tf.data.AUTOTUNE)
        .repeat(epochs)
        .map(decode, num_parallel_calls=tf.data.AUTOTUNE)
        .batch(BATCH)
        .prefetch(tf.data.AUTOTUNE)
    )
    return _drain(dataset)


def read_files_tf(paths: list[str], size: int, epochs: int) -> tuple[float, int]:
    import tensorflow as tf

    def decode(path: tf.Tensor) -> tf.Tensor:
        image = tf.io.decode_jpeg(tf.io.read_file(path), channels=3)
        return tf.ensure_shape(image, (size, size, 3))

    dataset = (
        tf.data.Dataset.from_tensor_slices(paths)
        .repeat(epochs)
        .map(decode, num_parallel_calls=tf.data.AUTOTUNE)
        .batch(BATCH)
        .prefetch(tf.data.AUTOTUNE)
    )
    return _drain(dataset)


def _drain(dataset) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    count = 0
    started = time.perf_counter()
    for batch in dataset:
        count += int(batch.shape[0])
    return count / (time.perf_counter() - started), count


def read_files_loop(paths: list[str], epochs: int) -> tuple[float, int]:
    from PIL import Image

    started = time.perf_counter()
    for _ in range(epochs):
        for path in paths:
            with Image.open(path) as image:
                np.asarray(image.convert("RGB"))
    return epochs * len(paths) / (time.perf_counter() - started), epochs * len(paths)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="500 images")
    parser.add_argument("--images", type=int, help="source photos (default 4000)")
    parser.add_argument("--source-size", type=int, default=384, help="source photo side")
    parser.add_argument("--shard-size", type=int, default=1000, help="records per shard")
    parser.add_argument("--epochs", type=int, default=3, help="passes timed when reading")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    count = args.images or (500 if args.quick else 4000)
    size = ExportConfig().image_size
    specs = task_specs(yaml.safe_load(HOUSE_TAXONOMY.read_text(encoding="utf-8")))

    with tempfile.TemporaryDirectory(prefix="shards-bench-") as root:
        store = open_store(root)
        started = time.perf_counter()
        manifest = source_photos(store, count, args.source_size, args.seed)
        generate_s = time.perf_counter() - started
        import tensorflow  # noqa: F401  (its import, seconds, is not part of a write)

        writes = {w: write_rate(store, manifest, specs, w, args.shard_size)
                  for w in ("tensorflow", "python")}  # fmt: skip
        shard_dir = Path(root) / "datasets/tensorflow/shards"
        files = sorted(str(p) for p in shard_dir.glob("*.tfrecord"))
        # The baseline reads the very same 224-px JPEGs, one file each.
        config = ExportConfig()
        paths = []
        for key in manifest["image_path"]:
            paths.append(str(Path(root) / "small" / Path(key).name))
            Path(paths[-1]).parent.mkdir(exist_ok=True)
            Path(paths[-1]).write_bytes(square_jpeg(store.read_bytes(key), config))
        shard_bytes = sum(os.path.getsize(f) for f in files)
        file_bytes = sum(os.path.getsize(p) for p in paths)
        read_shards(files, size, 1)  # warm-up: TensorFlow start-up and the page cache
        epochs = args.epochs
        shards_rate, shards_n = read_shards(files, size, epochs)
        tf_files_rate, tf_files_n = read_files_tf(paths, size, epochs)
        loop_rate, loop_n = read_files_loop(paths, epochs)
        assert shards_n == tf_files_n == loop_n == epochs * count

    header(
        "Training shards (issue 4)",
        f"{count:,} demo marketplace photos ({args.source_size} px) exported at {size} px, "
        f"{args.shard_size} records per shard; generation {generate_s:.0f} s (not counted); "
        f"shards {shard_bytes / 2**20:.1f} MiB in {len(files)} files vs "
        f"{file_bytes / 2**20:.1f} MiB in {count:,} files; local disk, warm page cache; "
        f"reading timed over {args.epochs} passes",
    )
    table(
        ["writing (`export_shards`, 2 threads: read, square, resize, JPEG, write)", "images/s"],
        [[f"{w} writer ({n} shard files)", f"{rate:.0f}"] for w, (rate, n) in writes.items()],
    )
    table(
        ["reading (every image decoded to 224x224x3)", "images/s", "vs baseline"],
        [
            [
                "shards: tf.data TFRecordDataset, parallel parse + decode, batch 64",
                f"{shards_rate:,.0f}",
                f"x{shards_rate / loop_rate:.1f}",
            ],
            [
                "tf.data over the individual JPEG files, same parallel decode",
                f"{tf_files_rate:,.0f}",
                f"x{tf_files_rate / loop_rate:.1f}",
            ],
            [
                "baseline: JPEG files one by one (Python loop, PIL decode)",
                f"{loop_rate:,.0f}",
                "x1.0",
            ],
        ],  # fmt: skip
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

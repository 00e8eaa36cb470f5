"""Training and input-pipeline throughput of the encoder (ResNet50, 224x224), shared vs separate.

Prints one markdown section. Input pipeline: images/s of the training ``tf.data``
pipeline alone (read, parse, repeat, shuffle, decode, augment, batch). Training:
images/s of ``fit`` steps after a warm-up epoch, for one shared backbone with four
heads and for ``--separate`` (four backbones). On a CPU the figures are what they are;
the issue's target (>= 2,000 images/s) is for one H100-class GPU with mixed precision + XLA.
Runs on the Keras backend of ``KERAS_BACKEND`` (input: ``tf.data`` on both).

  [KERAS_BACKEND=jax] python bench/train_bench.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def pipeline_rate(info, tasks, batch, size, batches):  # type: ignore[no-untyped-def]
    from training.augment import Augmenter
    from training.config import AugmentConfig
    from training.data import make_dataset

    data = make_dataset(info, "train", tasks, batch, size, training=True,
                        augment=Augmenter(AugmentConfig()))  # fmt: skip
    iterator = iter(data)
    next(iterator)
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches * batch / (time.perf_counter() - start)


def training_rate(info, tasks, batch, size, steps, separate):  # type: ignore[no-untyped-def]
    import keras

    from training.data import make_dataset
    from training.losses import build_losses
    from training.model import build_encoder, training_view

    weights = {n: ([1.0] * len(t.classes), [1.0] * len(t.classes)) for n, t in tasks.items()}
    encoder = build_encoder(tasks, "resnet50", size, "none", separate=separate)
    model = training_view(encoder, tasks)
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss=build_losses(tasks, weights))
    data = make_dataset(info, "train", tasks, batch, size, training=True)
    model.fit(data, steps_per_epoch=1, epochs=1, verbose=0)  # trace and warm up
    start = time.perf_counter()
    model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
    return steps * batch / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few steps (minutes on a CPU)")
    args = parser.parse_args()
    import tensorflow as tf

    from tests.training_fixtures import write_training_dataset
    from training.data import stage_dataset

    size = 224
    batch, steps, batches = (8, 2, 20) if args.quick else (32, 10, 100)
    with tempfile.TemporaryDirectory() as tmp:
        uri = write_training_dataset(Path(tmp), per_cell=4, image_size=size)
        info = stage_dataset(uri)
        two = dict(info.tasks)  # colour (multi-label) and type (single-label)
        pipe = pipeline_rate(info, two, batch, size, batches)
        shared = training_rate(info, two, batch, size, steps, separate=False)
        separate = training_rate(info, two, batch, size, steps, separate=True)
    gpus = len(tf.config.list_physical_devices("GPU"))
    device = f"{gpus} GPU" if gpus else f"CPU only ({os.cpu_count()} cores), no GPU in this session"
    mode = "--quick" if args.quick else "full"
    import keras

    print(
        f"### Encoder training throughput (ResNet50, 224x224), Keras on {keras.backend.backend()}\n"
    )
    print(
        f"- machine: {platform.processor() or platform.machine()}, {device}; TensorFlow {tf.__version__}, "
        f"Keras {keras.__version__} (backend: `KERAS_BACKEND={keras.backend.backend()}`)"
    )
    print(f"- command: `python bench/train_bench.py {'--quick' if args.quick else ''}`".rstrip())
    print(f"- date: {date.today().isoformat()}; {mode}: batch {batch}, {steps} timed steps; "
          "2 heads (colour, type) on the toy dataset\n")  # fmt: skip
    print("| measure | images/s | reference |")
    print("|---|---:|---|")
    print(f"| input pipeline (decode + augment + batch) | {pipe:,.0f} | must exceed training |")
    print(
        f"| training, shared backbone | {shared:,.1f} | target >= 2,000 on one H100 (mixed precision + XLA) |"
    )
    print(
        f"| training, --separate (one backbone per task) | {separate:,.1f} | the retailer's setup |"
    )
    print(
        f"\nshared / separate: {shared / separate:.2f}x with two tasks (the house taxonomy has four)."
    )


if __name__ == "__main__":
    main()

"""The reference of bench/gpu_check.py: bare ``keras.applications.ResNet50`` training steps.

Generated uint8 images and labels in NumPy arrays, ``fit`` with Adam, mixed precision
as ``s2s-train fit`` picks it (training/runtime.py), XLA; the first epoch (compilation)
is not timed. Prints one JSON line: images/s, step time, peak GPU memory, batch.

  KERAS_BACKEND=jax PYTHONPATH=. python bench/gpu_reference.py --batch 256 --steps 100
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BATCHES_IN_MEMORY = 8  # distinct batches cycled through; the data do not matter here


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--size", type=int, default=224)
    args = parser.parse_args()
    import keras

    from training.config import TrainConfig
    from training.runtime import peak_gpu_memory_gib, setup_runtime

    runtime = setup_runtime(TrainConfig(backbone="resnet50", weights="none"))
    model = keras.applications.ResNet50(weights=None, input_shape=(args.size, args.size, 3))
    model.compile(optimizer=keras.optimizers.Adam(1e-4), jit_compile=runtime.xla,
                  loss="sparse_categorical_crossentropy")  # fmt: skip
    rng = np.random.default_rng(0)
    n = args.batch * BATCHES_IN_MEMORY
    images = rng.integers(0, 256, (n, args.size, args.size, 3), dtype=np.uint8)
    labels = rng.integers(0, 1000, n)
    model.fit(images, labels, batch_size=args.batch, epochs=1, verbose=0)  # compile
    epochs = max(1, args.steps // BATCHES_IN_MEMORY)
    start = time.perf_counter()
    model.fit(images, labels, batch_size=args.batch, epochs=epochs, verbose=0)
    elapsed = time.perf_counter() - start
    steps = epochs * BATCHES_IN_MEMORY
    print(json.dumps({
        "images_per_s": round(steps * args.batch / elapsed, 1),
        "step_ms": round(1000 * elapsed / steps, 1),
        "peak_gpu_memory_gib": peak_gpu_memory_gib(runtime),
        "batch": args.batch,
        "steps": steps,
        "precision": runtime.precision,
    }))  # fmt: skip


if __name__ == "__main__":
    main()

"""The GPU check of issue 17 (run by bench/gpu_check.sh): the real ``s2s-train fit`` on
JAX against the bare Keras ResNet50 in the same run, and the input pipeline's own rate.

Steps, each in its own process (JAX holds most of the GPU memory in a process):
generate the toy dataset's shards at ``GPU_CHECK_SIZE`` px (two heads: colour, type);
bench/input_bench.py on 1 core and all cores; ``s2s-train --backend jax fit`` with the
shared backbone (batch ``GPU_CHECK_BATCH``) and ``--separate`` (``GPU_CHECK_SEPARATE_BATCH``),
``GPU_CHECK_EPOCHS`` epochs of ``GPU_CHECK_STEPS`` steps (the first epoch, compilation
included, is not counted); bench/gpu_reference.py. Prints the docs/benchmarks.md section.
Environment (defaults for an H200-class GPU): GPU_CHECK_SIZE 224, GPU_CHECK_BATCH 256,
GPU_CHECK_SEPARATE_BATCH 128, GPU_CHECK_STEPS 100, GPU_CHECK_EPOCHS 3, GPU_CHECK_PER_CELL
60, GPU_CHECK_BACKBONE resnet50 (``tiny`` for a dry run on a CPU).
"""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def setting(name: str, default: int | str) -> Any:
    value = os.environ.get(f"GPU_CHECK_{name}", str(default))
    return int(value) if isinstance(default, int) else value


def run(command: list[str], what: str) -> str:
    started = time.perf_counter()
    print(f"[gpu_check] {what} ...", file=sys.stderr, flush=True)
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    print(f"[gpu_check] {what}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    if done.returncode != 0:
        raise SystemExit(f"{what} failed (exit {done.returncode}):\n{done.stderr[-4000:]}")
    return done.stdout


def fit(dataset: str, out: Path, batch: int, separate: bool) -> dict[str, Any]:
    command = [sys.executable, "-m", "training", "--backend", "jax", "fit", "--dataset", dataset,
               "--out", str(out), "--backbone", setting("BACKBONE", "resnet50"),
               "--weights", "none", "--batch-size", str(batch),
               "--epochs", str(setting("EPOCHS", 3)), "--freeze-epochs", "0",
               "--steps-per-epoch", str(setting("STEPS", 100)), "--format", "json"]  # fmt: skip
    run(command + ["--separate"] * separate, f"s2s-train fit{' --separate' * separate}")
    summary = json.loads((out / "summary.json").read_text())
    rates = summary["images_per_s"][1:] or summary["images_per_s"]  # first: compilation
    rate = statistics.median(rates)
    return {
        "images_per_s": rate,
        "step_ms": round(1000 * batch / rate, 1),
        "peak_gpu_memory_gib": summary.get("peak_gpu_memory_gib"),
        "batch": batch,
        "steps": summary["steps_per_epoch"] * max(1, len(summary["images_per_s"]) - 1),
        "precision": summary["runtime"]["precision"],
        "input_pipeline": summary["runtime"]["input_pipeline"],
    }


def versions() -> str:
    def version(name: str) -> str:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "absent"

    names = ("jax", "jaxlib", "keras", "numpy", "opencv-python-headless", "tensorflow",
             "tensorflow-cpu")  # fmt: skip
    return ", ".join(f"{n} {version(n)}" for n in names) + f", Python {platform.python_version()}"


def gpu_name() -> str:
    if shutil.which("nvidia-smi") is None:
        return "no GPU (nvidia-smi absent)"
    query = ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"]
    return subprocess.run(query, capture_output=True, text=True, check=False).stdout.strip()


def row(name: str, result: dict[str, Any], reference: float) -> str:
    memory = result["peak_gpu_memory_gib"]
    return (f"| {name} | {result['batch']} | {result['images_per_s']:,.0f} | "
            f"{result['step_ms']} | {memory if memory is not None else 'n/a'} | "
            f"{result['images_per_s'] / reference:.0%} | {result['precision']} |")  # fmt: skip


def main() -> None:
    from tests.training_fixtures import write_training_dataset

    started = time.perf_counter()
    size, batch = setting("SIZE", 224), setting("BATCH", 256)
    cores = len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory(prefix="s2s-gpu-check-") as tmp:
        print("[gpu_check] generating shards ...", file=sys.stderr, flush=True)
        dataset = write_training_dataset(Path(tmp) / "store", per_cell=setting("PER_CELL", 60),
                                         image_size=size, shard_size=200)  # fmt: skip
        inputs = run([sys.executable, "bench/input_bench.py", "--dataset", dataset,
                      "--cores", f"1,{cores}", "--batch", str(batch),
                      "--batches", str(setting("INPUT_BATCHES", 40)), "--repeats", "1"],
                     "input pipeline")  # fmt: skip
        shared = fit(dataset, Path(tmp) / "shared", batch, separate=False)
        separate = fit(dataset, Path(tmp) / "separate", setting("SEPARATE_BATCH", 128), True)
        reference = json.loads(run([sys.executable, "bench/gpu_reference.py", "--batch",
                                    str(batch), "--steps", str(setting("STEPS", 100)),
                                    "--size", str(size)], "bare ResNet50").splitlines()[-1])  # fmt: skip
    base = reference["images_per_s"]
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print("### GPU check: the real `s2s-train fit` on JAX vs bare Keras ResNet50 (issue 17)\n")
    print(f"- command: `bash bench/gpu_check.sh` (settings: {size} px, "
          f"backbone {setting('BACKBONE', 'resnet50')}, {setting('EPOCHS', 3)} epochs of "
          f"{setting('STEPS', 100)} steps, first epoch not counted)")  # fmt: skip
    print(f"- date: {now}; whole check {time.perf_counter() - started:.0f} s")
    print(f"- machine: {gpu_name()}; {cores} cores; {versions()}")
    print(f"- data: toy shards (2 heads: colour, type), input pipeline of fit: "
          f"{shared['input_pipeline']}\n")  # fmt: skip
    print("| run | batch | img/s | step ms | peak GPU GiB | of reference | precision |")
    print("|---|---:|---:|---:|---:|---:|---|")
    print(row("bare `keras.applications.ResNet50` (reference, NumPy arrays)", reference, base))
    print(row("`s2s-train fit`, shared backbone", shared, base))
    print(row("`s2s-train fit --separate`", separate, base))
    print(
        "\nTarget: shared >= 90% of the reference; input pipeline on all cores above the "
        "training rate.\n"
    )
    print(inputs.strip())


if __name__ == "__main__":
    main()

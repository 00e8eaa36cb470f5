"""The JAX backend: fit, evaluate, index and search with TensorFlow importable and with it
blocked, encoders moving between backends, and the pure-Python input pipeline against
``tf.data`` on the same (partly damaged) shards."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.training_fixtures import add_bad_shard, cli, write_training_dataset

ROOT = Path(__file__).resolve().parents[1]
NO_TENSORFLOW = ROOT / "tests" / "no_tensorflow"  # its sitecustomize blocks `import tensorflow`
FIT = ["--backbone", "tiny", "--weights", "none", "--batch-size", "16",
       "--learning-rate", "3e-3", "--epochs", "4", "--format", "json"]  # fmt: skip


def run_commands(tmp: Path, steps: list[tuple[str, list[str]]], *, block_tf: bool,
                 devices: int = 1) -> dict[str, Any]:  # fmt: skip
    """Run ``s2s-train --backend jax`` commands in one subprocess; their JSON outputs."""
    outputs = {name: tmp / f"{name}.out" for name, _ in steps}
    plan = tmp / "steps.json"
    plan.write_text(json.dumps([[str(outputs[n]), ["--backend", "jax", *a]] for n, a in steps]))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(NO_TENSORFLOW)] * block_tf + [str(ROOT)])}  # fmt: skip
    env.pop("KERAS_BACKEND", None)
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    done = subprocess.run([sys.executable, "-m", "tests.jax_commands", str(plan)], env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=280)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    # fit's output starts with Keras' epoch lines: the JSON document is the rest.
    return {
        name: json.loads(re.search(r"^\{$.*", path.read_text(), re.M | re.S).group())  # type: ignore[union-attr]
        for name, path in outputs.items()
    }


def search_steps(encoder: str, dataset: str, tmp: Path) -> list[tuple[str, list[str]]]:
    index = str(tmp / "index")
    manifest = pd.read_parquet(Path(dataset) / "manifest.parquet")
    query = manifest[manifest["domain"] == "user"].iloc[0]
    image = str(Path(dataset).parents[2] / query["image_path"])
    return [
        ("index", ["index", "--encoder", encoder, "--dataset", dataset, "--out", index,
                   "--format", "json"]),
        ("search", ["search", "--index", index, "--image", image, "--format", "json"]),
    ]  # fmt: skip


def query_type(dataset: str) -> str:
    manifest = pd.read_parquet(Path(dataset) / "manifest.parquet")
    return str(manifest[manifest["domain"] == "user"].iloc[0]["type"][0])


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A toy dataset and an encoder trained on it on TensorFlow (in this process)."""
    root = tmp_path_factory.mktemp("jax")
    dataset = write_training_dataset(root / "store", per_cell=6)
    tf_model = str(root / "tf-model")
    from training.cli import main

    assert main(["fit", "--dataset", dataset, "--out", tf_model, *FIT]) == 0
    return {"root": str(root), "dataset": dataset, "tf_model": tf_model}


@pytest.mark.slow
def test_jax_with_tensorflow_importable_and_its_encoder_on_tensorflow(
    toy: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset, model = toy["dataset"], str(tmp_path / "jax-model")
    # The colour head reads the colour statistics: that layer runs on JAX, then on TF.
    # --deterministic: a toy fit of 18 validation images must not pass or fail by the
    # order its threads read the records in.
    results = run_commands(tmp_path, [
        ("fit", ["fit", "--dataset", dataset, "--out", model, *FIT,
                 "--colour-statistics", "colour", "--deterministic"]),
        ("evaluate", ["evaluate", "--model", model, "--dataset", dataset, "--format", "json"]),
        *search_steps(model, dataset, tmp_path),
    ], block_tf=False)  # fmt: skip
    runtime = results["fit"]["runtime"]
    assert (runtime["backend"], runtime["input_pipeline"]) == ("jax", "tf_data")
    assert results["fit"]["val"]["colour"]["top1_accuracy"] >= 0.8  # chance: about 1/3
    on_jax = results["evaluate"]["tasks"]
    assert on_jax["colour"]["top1_accuracy"] >= 0.8
    top = results["search"]["results"][0]["product_id"]
    assert top.split("-")[0] == query_type(dataset)

    # The JAX-trained encoder on TensorFlow: same predictions, and it exports.
    code, out, err = cli(capsys, "evaluate", "--model", model, "--dataset", dataset,
                         "--format", "json")  # fmt: skip
    assert code == 0, err
    on_tf = json.loads(out)["tasks"]
    for task in ("colour", "type"):  # same images, same weights: rounding only
        assert on_tf[task]["accuracy"] == pytest.approx(on_jax[task]["accuracy"], abs=0.04)
    code, out, err = cli(capsys, "export", "--model", model, "--format", "json")
    assert code == 0, err
    assert max(json.loads(out)["smoke_check_max_difference"].values()) <= 1e-4
    assert (Path(model) / "export/saved_model/saved_model.pb").is_file()


@pytest.mark.slow
def test_jax_without_tensorflow_on_two_devices_and_a_tensorflow_encoder(
    toy: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset, model, tf_model = toy["dataset"], str(tmp_path / "jax-model"), toy["tf_model"]
    results = run_commands(tmp_path, [
        ("fit", ["fit", "--dataset", dataset, "--out", model, *FIT]),
        ("evaluate", ["evaluate", "--model", model, "--dataset", dataset, "--format", "json"]),
        ("evaluate_tf", ["evaluate", "--model", tf_model, "--dataset", dataset,
                         "--format", "json"]),
        *search_steps(tf_model, dataset, tmp_path),
    ], block_tf=True, devices=2)  # fmt: skip
    runtime = results["fit"]["runtime"]
    assert runtime["backend"] == "jax" and runtime["input_pipeline"] == "python"
    assert (runtime["strategy"], runtime["replicas"]) == ("data_parallel", 2)
    assert results["fit"]["val"]["colour"]["top1_accuracy"] >= 0.8
    assert results["evaluate"]["tasks"]["colour"]["top1_accuracy"] >= 0.8
    # The TensorFlow-trained encoder without TensorFlow: as good as on TensorFlow.
    code, out, err = cli(capsys, "evaluate", "--model", tf_model, "--dataset", dataset,
                         "--format", "json")  # fmt: skip
    assert code == 0, err
    on_tf = json.loads(out)
    for task, report in on_tf["tasks"].items():
        no_tf = results["evaluate_tf"]["tasks"][task]["accuracy"]
        # OpenCV and TensorFlow decode JPEGs a grey level apart: an undertrained toy
        # model may flip an image or two, a wrong pipeline (channels, labels) far more.
        assert no_tf == pytest.approx(report["accuracy"], abs=2.5 / on_tf["n"]), task
    top = results["search"]["results"][0]["product_id"]
    assert top.split("-")[0] == query_type(dataset)


def test_without_tensorflow_the_tensorflow_backend_and_export_are_clear_errors(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "PYTHONPATH": f"{NO_TENSORFLOW}{os.pathsep}{ROOT}"}
    env.pop("KERAS_BACKEND", None)
    done = subprocess.run([sys.executable, "-m", "training", "fit", "--dataset", "x", "--out",
                           "y"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2 and "choose the JAX backend" in done.stderr
    assert done.stderr.count("\n") == 1  # one line, no traceback


def test_python_pipeline_counts_and_batches_like_tf_data(tmp_path: Path) -> None:
    from training.config import AugmentConfig
    from training.data import stage_dataset
    from training.inputs import batches, scan_records

    dataset = Path(write_training_dataset(tmp_path / "store", per_cell=2))
    add_bad_shard(dataset)
    info = stage_dataset(str(dataset))
    tasks = info.tasks
    scans = {p: scan_records(info, "train", tasks, p) for p in ("tf_data", "python")}
    for key in ("records", "drawn", "counts", "corrupt", "undecodable"):
        assert getattr(scans["python"], key) == getattr(scans["tf_data"], key), key
    assert (scans["python"].corrupt, scans["python"].undecodable) == (1, 1)

    # Evaluation batches: the same records in the same order, images within JPEG rounding.
    val = {p: scan_records(info, "val", tasks, p) for p in ("tf_data", "python")}
    loaded = {
        p: [(np.asarray(x), {k: np.asarray(v) for k, v in y.items()})
            for x, y in batches(info, "val", tasks, val[p], 8, 32, p)]
        for p in ("tf_data", "python")
    }  # fmt: skip
    assert len(loaded["python"]) == len(loaded["tf_data"])
    for (x_py, y_py), (x_tf, y_tf) in zip(loaded["python"], loaded["tf_data"], strict=True):
        assert x_py.shape == x_tf.shape and x_py.dtype == np.float32
        assert np.abs(x_py - x_tf).mean() < 2.0
        for key in y_tf:
            assert np.array_equal(y_py[key], y_tf[key])

    # On 3 devices (DataParallel, batch 6) the last batch divides evenly too: at most 2
    # records left out.
    sizes = [len(x) for x, _ in batches(info, "val", tasks, val["python"], 6, 32, "python",
                                        multiple_of=3)]  # fmt: skip
    assert all(size % 3 == 0 for size in sizes) and val["python"].records - sum(sizes) < 3

    # Training batches: reproducible by seed, each record drawn `repeat` times per pass,
    # augmented (a flip on every image changes it).
    scan = scans["python"]
    flip = AugmentConfig(rotation_probability=0, translation_probability=0,
                         flip_probability=1, jpeg_probability=0)  # fmt: skip
    steps = scan.drawn // 4

    def epoch(augment: AugmentConfig | None) -> list[Any]:
        data = batches(info, "train", tasks, scan, 4, 32, "python", training=True,
                       augment=augment, seed=3, steps=steps)  # fmt: skip
        return [data[i] for i in range(len(data))]

    first, again, flipped = epoch(None), epoch(None), epoch(flip)
    assert len(first) == steps
    for (a, _), (b, _), (c, _) in zip(first, again, flipped, strict=True):
        assert np.array_equal(a, b)
        assert np.array_equal(a[:, :, ::-1], c)
    type_counts = sum(y["type_probs"].sum(axis=0) for _, y in first)
    assert type_counts.sum() == steps * 4 <= scan.drawn
    assert scan.drawn - steps * 4 < 4  # one pass, less the last partial batch


def test_reader_refuses_damaged_frames(tmp_path: Path) -> None:
    from dataset.shards.reader import CorruptFrame, decode_example, read_frames
    from dataset.shards.tfrecord import TensorFlowRecordWriter, encode_example, frame

    written = tmp_path / "tf.tfrecord"  # TensorFlow's own writer, read back without it
    with TensorFlowRecordWriter(written) as writer:
        writer.write({"image": [b"jpeg"], "label/colour": [0.5, 1.0], "repeat": [-3]})
    [(_, data)] = list(read_frames(written))
    assert decode_example(data) == {"image": [b"jpeg"], "label/colour": [0.5, 1.0],
                                    "repeat": [-3]}  # fmt: skip

    records = [encode_example({"image": [b"jpeg"], "repeat": [i]}) for i in (1, 2, 3)]
    path = tmp_path / "a.tfrecord"
    path.write_bytes(b"".join(frame(r) for r in records))
    assert [decode_example(d)["repeat"] for _, d in read_frames(path)] == [[1], [2], [3]]
    damaged = bytearray(path.read_bytes())
    second = len(frame(records[0]))
    damaged[second + 14] ^= 0xFF  # a byte of the second record's data
    path.write_bytes(bytes(damaged))
    seen = []
    with pytest.raises(CorruptFrame, match=f"byte {second}: data checksum"):
        for offset, _ in read_frames(path):
            seen.append(offset)
    assert seen == [0]
    path.write_bytes(frame(records[0])[:-2])
    with pytest.raises(CorruptFrame, match="truncated data"):
        list(read_frames(path))
    with pytest.raises(ValueError):
        decode_example(b"\x0a\x05ab")  # a field longer than the data

"""``s2s-dataset build`` end to end: outputs, shards read by TensorFlow, caching, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from dataset.build.config import load_config
from dataset.build.run import build
from dataset.core.errors import UserError
from dataset.core.store import Store, open_store
from dataset.shards.export import encode_labels
from dataset.taxonomy.tasks import task_specs
from tests.buildds_fixtures import TAXONOMY, write_config, write_demo_manifest

PREFIX = "datasets/test/v1"
ROOT = Path(__file__).resolve().parents[1]


def read_shards(store: Store, index: dict[str, Any], tmp: Path) -> list[dict[str, Any]]:
    """Every record of every shard, parsed by TensorFlow as a training job would (S3
    shards are downloaded first: TensorFlow has no built-in s3:// file system)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    spec = {
        "image": tf.io.FixedLenFeature([], tf.string),
        "image_path": tf.io.FixedLenFeature([], tf.string),
        "repeat": tf.io.FixedLenFeature([], tf.int64),
        "pair_id": tf.io.FixedLenFeature([], tf.string),
        "domain": tf.io.FixedLenFeature([], tf.string),
    }
    for task, body in index["tasks"].items():
        spec[f"label/{task}"] = tf.io.FixedLenFeature([len(body["classes"])], tf.float32)
    records = []
    for split, body in index["splits"].items():
        paths = []
        for name in body["files"]:
            key = f"{PREFIX}/shards/{name}"
            local = store.local_path(key)
            if local is None:
                local = tmp / name
                store.download(key, local)
            paths.append(str(local))
        for raw in tf.data.TFRecordDataset(paths):
            parsed = tf.io.parse_single_example(raw, spec)
            image = tf.io.decode_jpeg(parsed["image"])
            record = {k: v.numpy() for k, v in parsed.items() if k != "image"}
            record["shape"] = tuple(image.shape)
            record["split"] = split
            records.append(record)
    return records


def assert_shards_equal_manifest(store: Store, tmp: Path) -> pd.DataFrame:
    manifest = store.read_parquet(f"{PREFIX}/manifest.parquet")
    index = store.read_json(f"{PREFIX}/shards/index.json")
    specs = task_specs(TAXONOMY)
    records = read_shards(store, index, tmp)
    assert len(records) == len(manifest)
    by_path = {r["image_path"].decode(): r for r in records}
    size = index["image_size"]
    for _, row in manifest.iterrows():
        record = by_path[row["image_path"]]
        assert record["split"] == row["split"]
        assert record["repeat"] == row["repeat"]
        assert record["domain"].decode() == row["domain"]
        pair = row["pair_id"] if isinstance(row["pair_id"], str) else ""
        assert record["pair_id"].decode() == pair
        assert record["shape"] == (size, size, 3)
        for task, spec in specs.items():
            assert record[f"label/{task}"].tolist() == encode_labels(row[task], spec)
    for split, body in index["splits"].items():
        assert body["records"] == int((manifest["split"] == split).sum())
    return manifest


@pytest.fixture
def local_build(tmp_path: Path) -> tuple[Store, Path]:
    store = open_store(tmp_path / "store")
    write_demo_manifest(store)
    return store, write_config(tmp_path)


def statuses(summary: dict[str, Any]) -> dict[str, str]:
    return {name: result["status"] for name, result in summary["stages"].items()}


def test_build_writes_every_output_and_shards_match_manifest(
    local_build: tuple[Store, Path], tmp_path: Path
) -> None:
    store, config = local_build
    summary = build(config, store.uri, overrides=["export.writer=tensorflow"], show_progress=False)
    assert set(statuses(summary).values()) == {"ran"}
    for name in (
        "manifest.parquet",
        "taxonomy.yaml",
        "label_weights.json",
        "report.html",
        "summary.json",
        "config.yaml",
        "shards/index.json",
    ):
        assert store.exists(f"{PREFIX}/{name}"), name
    manifest = assert_shards_equal_manifest(store, tmp_path)
    # 38 good images, 6 bad rows, 5 non-kept duplicates dropped before the split.
    assert len(manifest) == 38 - 5
    assert manifest.groupby("dup_cluster")["split"].nunique().max() == 1
    assert manifest.dropna(subset=["pair_id"]).groupby("pair_id")["split"].nunique().max() == 1
    index = store.read_json(f"{PREFIX}/shards/index.json")
    assert len(index["splits"]["train"]["files"]) == -(-index["splits"]["train"]["records"] // 8)
    weights = store.read_json(f"{PREFIX}/label_weights.json")
    train = manifest[manifest["split"] == "train"]
    assert weights["n_samples"] == int(train["repeat"].sum())
    resolved = yaml.safe_load(store.read_text(f"{PREFIX}/config.yaml"))
    assert resolved["rebalance"]["cap"] == 2.5  # defaults are written out


def test_python_writer_shards_read_back_the_same(
    local_build: tuple[Store, Path], tmp_path: Path
) -> None:
    store, config = local_build
    build(config, store.uri, overrides=["export.writer=python"], show_progress=False)
    assert_shards_equal_manifest(store, tmp_path)


def test_bad_inputs_are_counted_listed_and_skipped(local_build: tuple[Store, Path]) -> None:
    store, config = local_build
    summary = build(config, store.uri, show_progress=False)
    check = summary["stages"]["check"]["summary"]
    reasons = {entry["image_path"]: entry["reason"] for entry in check["bad"]}
    assert reasons["raw/demo/images/corrupt.jpg"].startswith("corrupt or truncated")
    assert reasons["raw/demo/images/truncated.jpg"].startswith("corrupt or truncated")
    assert reasons["raw/demo/images/notes.txt"] == "not an image"
    assert reasons["raw/demo/images/bomb.png"].startswith("decompression bomb (3000x3000")
    assert reasons["raw/demo/images/gone.jpg"] == "missing image file"
    assert reasons[None] == "missing image path"
    manifest = store.read_parquet(f"{PREFIX}/manifest.parquet")
    assert not set(manifest["image_path"]) & {k for k in reasons if k}
    report = store.read_text(f"{PREFIX}/report.html")
    for path in ("corrupt.jpg", "truncated.jpg", "notes.txt", "bomb.png", "gone.jpg"):
        assert path in report
    # the empty class (skirts, purple) is listed, weighted without dividing by zero
    assert "type/skirts" in report and "colour/purple" in report
    warnings = summary["stages"]["weights"]["summary"]["warnings"]
    assert any(w.startswith("type/skirts") for w in warnings)
    assert "data:image/png;base64," in report and "data:image/jpeg;base64," in report


def test_second_build_is_cached_and_a_config_change_reruns_downstream_only(
    local_build: tuple[Store, Path],
) -> None:
    store, config = local_build
    build(config, store.uri, show_progress=False)
    state = store.read_json(f"{PREFIX}/stages/export.json")
    again = build(config, store.uri, show_progress=False)
    assert set(statuses(again).values()) == {"cached"}
    assert store.read_json(f"{PREFIX}/stages/export.json") == state

    resized = build(config, store.uri, overrides=["export.image_size=24"], show_progress=False)
    assert statuses(resized) == {
        "load": "cached",
        "check": "cached",
        "split": "cached",
        "rebalance": "cached",
        "weights": "cached",
        "export": "ran",
        "report": "ran",
    }
    assert store.read_json(f"{PREFIX}/shards/index.json")["image_size"] == 24

    reseeded = build(
        config, store.uri, overrides=["export.image_size=24", "split.seed=9"], show_progress=False
    )
    assert [n for n, s in statuses(reseeded).items() if s == "ran"] == [
        "split",
        "rebalance",
        "weights",
        "export",
        "report",
    ]
    # an input file that changes (a new manifest) reruns everything from load on
    frame = store.read_parquet("inputs/manifest.parquet")
    store.write_parquet("inputs/manifest.parquet", frame.iloc[1:])
    changed = build(
        config, store.uri, overrides=["export.image_size=24", "split.seed=9"], show_progress=False
    )
    assert set(statuses(changed).values()) == {"ran"}


def test_shards_of_an_earlier_export_are_removed(local_build: tuple[Store, Path]) -> None:
    store, config = local_build
    build(config, store.uri, show_progress=False)
    build(config, store.uri, overrides=["export.shard_size=100"], show_progress=False)
    shards = [k for k in store.list(f"{PREFIX}/shards/") if k.endswith(".tfrecord")]
    assert sorted(Path(k).name for k in shards) == [
        "test-00000-of-00001.tfrecord",
        "train-00000-of-00001.tfrecord",
        "val-00000-of-00001.tfrecord",
    ]


def test_build_on_s3(s3_bucket: str, tmp_path: Path) -> None:
    store = open_store(f"{s3_bucket}/data")
    write_demo_manifest(store)
    config = write_config(tmp_path)
    summary = build(config, store.uri, show_progress=False)
    assert summary["store"] == f"{s3_bucket}/data"
    assert store.exists(f"{PREFIX}/report.html")
    assert_shards_equal_manifest(store, tmp_path)
    assert set(statuses(build(config, store.uri, show_progress=False)).values()) == {"cached"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"split": {"sed": 1}}, "split.sed: unknown key (got 1)"),
        ({"split": {"fractions": {"train": 0.9}}}, "split.fractions: Value error, fractions must"),
        ({"export": {"image_size": "big"}}, "export.image_size: Input should be a valid integer"),
        ({"rebalance": {"cap": 0.5}}, "rebalance.cap: Input should be greater than or equal to 1"),
        ({"stages": ["load", "shuffle"]}, "stages: unknown stage 'shuffle'"),
        ({"colour_mode": "rgb"}, "colour_mode: unknown key (got 'rgb')"),
        ({"name": "a/b"}, "name: String should match pattern"),
    ],
)
def test_bad_config_names_file_key_and_value(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    config = write_config(tmp_path, **change)
    with pytest.raises(UserError) as caught:
        load_config(config)
    assert str(caught.value).startswith(f"{config}: ")
    assert message in str(caught.value)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "dataset", "build", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_cli_builds_reports_json_and_fails_in_one_line(local_build: tuple[Store, Path]) -> None:
    store, config = local_build
    args = ["--config", str(config), "--store", store.uri, "--set", "export.writer=python"]
    args += ["--no-progress", "--set", "stages=[load, check, split, rebalance, export]"]
    result = run_cli(*args, "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["stages"]["export"]["status"] == "ran"
    missing = run_cli(*args, "--set", "load.manifest=x.pq")
    assert missing.returncode == 2
    assert missing.stderr.startswith("s2s-dataset: error: ")
    assert "x.pq: no such object in store" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1


def test_bad_override_is_a_user_error(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    with pytest.raises(UserError, match="not valid YAML"):
        load_config(config, ["split.seed=[1"])
    with pytest.raises(UserError, match="expected KEY.PATH=VALUE"):
        load_config(config, ["seed"])

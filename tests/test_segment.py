"""Segmentation: cut-out quality against known silhouettes, fallback, cache, bad input."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from dataset.core.store import Store, open_store
from dataset.segmentation import SegmentConfig, segment_images
from dataset.synthetic.near_duplicates import (
    encode_jpeg,
    make_designs,
    render_design,
    silhouette_mask,
)
from tests.dedup_fixtures import bad_images

ROOT = Path(__file__).resolve().parents[1]
SIZE = (96, 96)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def _garments(
    store: Store, count: int, busy: bool = False
) -> tuple[pd.DataFrame, list[np.ndarray]]:
    """Garment photos in the store, their true masks; ``busy``: a cluttered backdrop."""
    rng = np.random.default_rng(0)
    rows, masks = [], []
    for index, design in enumerate(make_designs(count, 1, seed=3)):
        pixels = render_design(design, SIZE)
        mask = silhouette_mask(design, SIZE)
        if busy:
            clutter = rng.integers(0, 256, (12, 12, 3)).astype(np.float32)
            clutter = np.asarray(Image.fromarray(clutter.astype(np.uint8)).resize(SIZE))
            pixels = np.where(mask[..., None], pixels, clutter)
        key = f"img/{'busy' if busy else 'plain'}-{index}.jpg"
        store.write_bytes(key, encode_jpeg(pixels))
        ys, xs = np.nonzero(mask)
        rows.append({"image_path": key, "bbox": [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]})
        masks.append(mask)
    return pd.DataFrame(rows), masks


def _cut_mask(store: Store, key: str) -> np.ndarray:
    pixels = np.asarray(Image.open(io.BytesIO(store.read_bytes(key))).convert("RGB"), np.int16)
    return np.asarray(np.abs(pixels - 255).max(axis=-1) > 40)


def test_plain_backdrop_garment_is_cut_out(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    manifest, masks = _garments(store, 6)
    manifest = manifest.drop(columns="bbox")  # the backdrop alone must give the box
    frame, summary = segment_images(store, manifest, SegmentConfig(workers=1), out="ds/v1")
    assert summary["segmented"] == 6 and summary["box_sources"] == {"backdrop": 6}
    for row, truth in zip(frame.itertuples(), masks, strict=True):
        assert row.segmentation == "segmented"
        assert row.segmented_path.startswith("ds/v1/segmented/")
        assert _iou(_cut_mask(store, row.segmented_path), truth) >= 0.85, row.image_path


def test_annotation_box_on_busy_background_and_fallback(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    manifest, masks = _garments(store, 4, busy=True)
    # A box on an empty corner: GrabCut finds nothing worth keeping there.
    manifest.loc[3, "bbox"] = [0, 0, 12, 12]  # type: ignore[call-overload]
    frame, summary = segment_images(store, manifest, SegmentConfig(workers=2), out="ds/v1")
    assert summary["box_sources"] == {"annotation": 4}
    for row, truth in list(zip(frame.itertuples(), masks, strict=True))[:3]:
        assert row.segmentation == "segmented"
        assert _iou(_cut_mask(store, row.segmented_path), truth) >= 0.7, row.image_path
    assert frame.loc[3, "segmentation"].startswith("fallback: ")
    assert frame.loc[3, "segmented_path"] == frame.loc[3, "image_path"]


def test_cache_reused_and_parameters_respected(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    manifest, _masks = _garments(store, 3)
    manifest = pd.concat([manifest, manifest.iloc[[0]]], ignore_index=True)  # a repeated row
    config = SegmentConfig(workers=1)
    first, summary = segment_images(store, manifest, config, out="ds/v1")
    assert summary["images"] == 3 and summary["from_cache"] == 0
    assert first.loc[3, "segmented_path"] == first.loc[0, "segmented_path"]
    written = {key: store.size(key) for key in store.list("ds/v1/segmented/")}
    again, summary = segment_images(store, manifest, config, out="ds/v1")
    assert summary["from_cache"] == 3
    pd.testing.assert_frame_equal(first, again)
    assert {key: store.size(key) for key in store.list("ds/v1/segmented/")} == written
    _frame, summary = segment_images(
        store, manifest, SegmentConfig(workers=1, margin=0.2), out="ds/v1"
    )
    assert summary["from_cache"] == 0 and summary["segmented"] == 3


def test_bad_images_counted_and_skipped(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    manifest, _masks = _garments(store, 1)
    paths = []
    for name, data in bad_images().items():
        paths.append(f"bad/{name}.jpg")
        store.write_bytes(paths[-1], data)
    manifest = pd.DataFrame({"image_path": [*manifest["image_path"], *paths, "missing.jpg"]})
    frame, summary = segment_images(store, manifest, SegmentConfig(workers=1), out="ds/v1")
    assert summary["bad"] == len(paths) + 1 and summary["segmented"] == 1
    assert {item["image_path"] for item in summary["bad_images"]} == {*paths, "missing.jpg"}
    assert frame["segmentation"].iloc[1:].str.startswith("bad: ").all()
    assert frame["segmented_path"].iloc[1:].isna().all()


def test_segment_on_s3(s3_bucket: str) -> None:
    store = open_store(f"{s3_bucket}/p")
    manifest, masks = _garments(store, 2)
    frame, summary = segment_images(store, manifest, SegmentConfig(workers=1), out="ds/v1")
    assert summary["segmented"] == 2
    assert _iou(_cut_mask(store, frame.loc[0, "segmented_path"]), masks[0]) >= 0.85
    assert store.exists("ds/v1/segments.parquet")


@pytest.mark.parametrize("fmt", ["json"])
def test_segment_command(tmp_path: Path, fmt: str) -> None:
    store = open_store(tmp_path / "store")
    manifest, _masks = _garments(store, 2)
    store.write_parquet("m.parquet", manifest.drop(columns="bbox"))
    command = [sys.executable, "-m", "dataset", "segment", "--store", str(tmp_path / "store")]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [*command, "--manifest", "m.parquet", "--out", "ds/v1", "--format", fmt, "--workers", "1"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["segmented"] == 2
    assert "segmented_path" in store.read_parquet("ds/v1/manifest.parquet")
    result = subprocess.run(
        [*command, "--manifest", "m.parquet", "--out", "ds/v1", "--margin", "3"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert result.returncode == 2 and "--margin" in result.stderr

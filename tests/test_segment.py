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


def test_localiser_seeds_the_backdrop_box_so_a_block_beside_the_garment_stays_out() -> None:
    from dataset.segmentation.cut import segment_array

    rng = np.random.default_rng(0)
    photo = np.full((96, 96, 3), 235, np.uint8)
    garment = np.zeros((96, 96), bool)
    garment[24:72, 28:56] = True
    garment[24:40, 18:28] = True  # a sleeve
    photo[garment] = (170, 30, 40)
    photo[36:76, 56:84] = (40, 60, 170)  # a blue box against the garment's side
    photo = np.clip(photo + rng.normal(0, 6, photo.shape), 0, 255).astype(np.uint8)
    # The localiser's coarse mask (1/4 of the side): the garment, not the box.
    prior = np.full((24, 24), 0.02, np.float32)
    prior[6:18, 5:14] = 0.9
    cuts = {
        seeded: segment_array(
            photo, None, SegmentConfig(prior_in_every_box=seeded), (18, 24, 56, 72), prior
        )
        for seeded in (True, False)
    }
    # Studio-like backdrop: its box (garment and blue box) agrees with the localiser's and
    # is tried first; seeded by the localiser, GrabCut leaves the blue box out.
    assert [cut[2:] for cut in cuts.values()] == [("backdrop", None)] * 2
    assert _iou(cuts[True][0], garment) >= 0.95
    assert _iou(cuts[False][0], garment) < 0.7 and cuts[False][0][50:70, 60:80].all()

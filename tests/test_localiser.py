"""The garment localiser: its training command on tiny inputs, and the segment stage using it."""

from __future__ import annotations

import hashlib
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

from dataset.core.errors import UserError
from dataset.core.store import Store, open_store
from dataset.segmentation import SegmentConfig, segment_images
from dataset.synthetic.garments import Look, render, shopper_shot, studio_shot, to_jpeg
from tests.localiser_fixtures import write_constant_localiser
from training.localiser.composite import composites
from training.localiser.cutouts import Cutout

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
LOOKS = [
    Look(type="dresses", colours=("green",)),
    Look(type="t-shirts", colours=("red", "white")),
    Look(type="trousers", colours=("blue",)),
    Look(type="jackets-coats", colours=("brown",)),
]


def _photos(store: Store, prefix: str, background: str, count: int, size: int = 96) -> list[str]:
    """Demo garments, studio shots (``studio``) or shoppers' photos in a room (``cluttered``)."""
    rng = np.random.default_rng(7)
    keys = []
    for index in range(count):
        studio = background == "studio"
        shot = studio_shot(0, rng) if studio else shopper_shot(rng, plain_share=0.0)
        keys.append(f"{prefix}/{background}-{index}.jpg")
        store.write_bytes(keys[-1], to_jpeg(render(LOOKS[index % len(LOOKS)], shot, size, rng)))
    return keys


def test_composites_are_deterministic_and_masks_follow_the_garment() -> None:
    garment = np.zeros((40, 30), bool)
    garment[5:35, 5:25] = True
    cutout = Cutout(np.full((40, 30, 3), 90, np.uint8), garment)
    first = composites([cutout], 6, 64, np.random.default_rng(3))
    again = composites([cutout], 6, 64, np.random.default_rng(3))
    np.testing.assert_array_equal(first[0], again[0])
    photos, masks = first
    assert photos.shape == (6, 64, 64, 3) and masks.shape == (6, 16, 16, 1)
    assert masks.min() >= 0.0 and masks.max() <= 1.0
    # Every photo shows its garment (35-100% of the side, a hand may hide part of it).
    assert (masks.reshape(6, -1).mean(axis=1) > 0.01).all()


@pytest.mark.slow
def test_fit_localiser_command_trains_then_reuses(tmp_path: Path) -> None:
    import keras

    shots = open_store(tmp_path / "catalogue")
    _photos(shots, "images", "studio", 6)
    command = [
        sys.executable, "-m", "training", "fit-localiser",
        "--cutouts", str(tmp_path / "catalogue" / "images"), "--out", str(tmp_path / "loc"),
        "--image-size", "32", "--composites", "32", "--val-composites", "8", "--epochs", "1",
        "--batch-size", "16", "--max-cutouts", "4", "--format", "json",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, env=ENV, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)
    assert summary["reused"] is False and summary["cutouts"]["cut"] == 4
    assert 0.0 <= summary["val"]["mask_iou"] <= 1.0 and summary["seconds"]["fit"] > 0
    assert summary["seconds"]["cpu"] > 0
    model = keras.saving.load_model(tmp_path / "loc" / "localiser.keras", compile=False)
    assert model.output_shape == (None, 8, 8, 1)
    stamp = (tmp_path / "loc" / "localiser.keras").stat().st_mtime_ns

    again = subprocess.run(command, capture_output=True, text=True, env=ENV, check=False)
    assert again.returncode == 0 and json.loads(again.stdout)["reused"] is True
    assert (tmp_path / "loc" / "localiser.keras").stat().st_mtime_ns == stamp

    bad = subprocess.run([*command[:-2], "--image-size", "40"], capture_output=True, text=True,
                         env=ENV, check=False)  # fmt: skip
    assert bad.returncode == 2 and "--image-size" in bad.stderr and "40" in bad.stderr


def test_segment_stage_uses_the_localiser_and_writes_masks(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    rooms = _photos(store, "raw", "cluttered", 15)  # 17 photos: more than one chunk, so
    studio = _photos(store, "cat", "studio", 2)  # two worker processes (spawned) cut them
    write_constant_localiser(store.local_path("models/loc.keras"), bias=8.0)
    manifest = pd.DataFrame({"image_path": rooms + studio, "domain": ["user"] * 15 + ["shop"] * 2})
    config = SegmentConfig(workers=2, localiser="models/loc.keras")
    frame, summary = segment_images(store, manifest, config, out="ds/v1")
    shoppers = summary["fallback_by_domain"]["user"]
    assert shoppers["images"] == 15 and summary["fallback_by_domain"]["shop"]["images"] == 2
    user_fallbacks = frame["segmentation"].iloc[:15].str.startswith("fallback").sum()
    assert shoppers["fallback"] == user_fallbacks
    assert shoppers["fallback_share"] == round(user_fallbacks / 15, 4)

    model_id = hashlib.sha1(store.read_bytes("models/loc.keras")).hexdigest()[:12]
    assert summary["localiser"] == {"model": "models/loc.keras", "model_id": model_id}
    # Few rooms have a plain border: mostly the localiser's box (the whole photo, clipped).
    rooms_frame = frame.iloc[:15]
    localised = rooms_frame[rooms_frame["box_source"] == "localiser"]
    assert len(localised) >= 10 and set(rooms_frame["box_source"]) <= {"localiser", "backdrop"}
    assert localised["box"].map(list).tolist() == [[0, 0, 96, 96]] * len(localised)
    assert sum(summary["box_sources"].values()) == summary["segmented"] + summary["fallback"] == 17
    assert summary["masks"] == summary["segmented"]
    assert sum(summary["fallback_box_sources"].values()) == summary["fallback"]

    again, summary = segment_images(store, manifest, config, out="ds/v1")
    assert summary["from_cache"] == 17
    assert again["mask_path"].equals(frame["mask_path"])
    # Retrained: finds nothing.
    write_constant_localiser(store.local_path("models/loc.keras"), bias=-8.0)
    frame, summary = segment_images(store, manifest, config, out="ds/v1")
    assert summary["from_cache"] == 0
    # Nothing found: studio shots keep their backdrop box, most rooms the centred default.
    assert frame["box_source"].tolist()[15:] == ["backdrop"] * 2
    assert (frame["box_source"].iloc[:15] == "default").sum() >= 10
    assert summary["masks"] == summary["segmented"] >= 2
    for row in frame.itertuples():
        assert len(row.box) == 4
        if row.segmentation != "segmented":
            assert pd.isna(row.mask_path)
            continue
        mask_image = Image.open(io.BytesIO(store.read_bytes(row.mask_path)))
        assert mask_image.mode == "1" and mask_image.size == (96, 96)
        cut = np.asarray(Image.open(io.BytesIO(store.read_bytes(row.segmented_path))), np.int16)
        mask = np.asarray(mask_image)
        # Outside the mask the cut-out is white; the mask is the cut's garment.
        assert np.abs(cut[~mask] - 255).mean() < 8 and 0.02 < mask.mean() < 0.95


def test_missing_localiser_is_a_clear_error(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    manifest = pd.DataFrame({"image_path": _photos(store, "raw", "cluttered", 1)})
    config = SegmentConfig(workers=1, localiser="models/none.keras")
    with pytest.raises(UserError, match="segment.localiser: no model at .*fit-localiser"):
        segment_images(store, manifest, config, out="ds/v1")


def test_query_segmentation_takes_the_localisers_box_and_falls_back_on_the_backdrop(
    tmp_path: Path,
) -> None:
    from dataset.segmentation.localiser import Localiser
    from training.retrieval.segment import segment_garment

    store = open_store(tmp_path)
    room, studio = _photos(store, "raw", "cluttered", 1) + _photos(store, "cat", "studio", 1)
    write_constant_localiser(store.local_path("everything.keras"), bias=8.0)
    write_constant_localiser(store.local_path("nothing.keras"), bias=-8.0)
    everything = Localiser.from_store(store, "everything.keras")
    nothing = Localiser.from_store(store, "nothing.keras")

    def photo(key: str) -> np.ndarray:
        return np.asarray(Image.open(io.BytesIO(store.read_bytes(key))).convert("RGB"))

    assert segment_garment(photo(room), localiser=everything).box_source == "localiser"
    assert segment_garment(photo(room), localiser=None).box_source != "localiser"
    # A localiser that finds nothing leaves the studio shot its backdrop box.
    cut = segment_garment(photo(studio), localiser=nothing)
    assert cut.box_source == "backdrop" and 0.05 < cut.kept < 1.0 and cut.problem is None
    assert cut.note().startswith("segmented (backdrop box)")
    assert (cut.image[0, 0] == 255).all()

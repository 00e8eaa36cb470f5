"""Query segmentation cuts a garment the way the dataset's segment stage does."""

from __future__ import annotations

import numpy as np

from dataset.segmentation.config import SegmentConfig
from dataset.segmentation.cut import on_white, segment_array
from training.retrieval.segment import segment_garment


def garment_on_backdrop() -> np.ndarray:
    photo = np.full((120, 90, 3), 235, np.uint8)
    photo[25:100, 20:70] = (150, 20, 30)
    return photo


def test_query_cut_equals_the_dataset_stage_cut() -> None:
    photo = garment_on_backdrop()
    cut = segment_garment(photo)
    mask, _box, source, problem = segment_array(photo, None, SegmentConfig())
    assert (source, problem) == ("backdrop", None) and cut.box_source == source
    np.testing.assert_array_equal(cut.image, on_white(photo, mask))
    assert 0.2 < cut.kept < 0.5
    assert (cut.image[5, 5] == 255).all() and (cut.image[60, 45] == (150, 20, 30)).all()


def test_a_rejected_cut_leaves_the_query_whole() -> None:
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    config = SegmentConfig(min_box_fill=0.99)  # no GrabCut mask fills 99% of its box
    cut = segment_garment(noise, config)
    assert cut.kept == 1.0
    np.testing.assert_array_equal(cut.image, noise)

"""Segmentation of a query photo, the same cut the dataset's segment stage gives the gallery.

Queries and catalogue images go through one function (``dataset.segmentation.cut``):
box from the backdrop or a centred default, GrabCut inside it, the quality check. A cut
the check rejects leaves the photo whole, as the dataset stage does.
"""

from __future__ import annotations

import logging

import numpy as np

from dataset.segmentation.config import SegmentConfig
from dataset.segmentation.cut import on_white, segment_array

logger = logging.getLogger(__name__)


def segment_garment(
    image: np.ndarray, config: SegmentConfig | None = None
) -> tuple[np.ndarray, float]:
    """The image with the background painted white, and the fraction of pixels kept."""
    mask, _box, _source, problem = segment_array(
        image, None, config or SegmentConfig.model_validate({})
    )
    if problem is not None:
        logger.warning("query segmentation rejected (%s): using the whole photo", problem)
        return image, 1.0
    return on_white(image, mask), float(mask.mean())

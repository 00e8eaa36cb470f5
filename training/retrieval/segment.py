"""GrabCut segmentation of a query photo, so clutter around the garment does not count.

RECONCILE: the dataset part's segmentation stage (``dataset/segment*``) is the one the
catalogue goes through; when it lands on main, :func:`segment_garment` should call it so
queries and gallery are cut the same way. Until then this is a small GrabCut of its own:
the garment is assumed to be inside a central rectangle (the shopper framed it), GrabCut
refines the mask, and the background becomes plain white like a studio shot.
"""

from __future__ import annotations

import logging

import numpy as np

logger = logging.getLogger(__name__)

MARGIN = 0.06  # fraction of each side treated as sure background
ITERATIONS = 4
MIN_KEPT = 0.05  # a mask keeping less than this fraction is a failure: keep the photo


def segment_garment(image: np.ndarray) -> tuple[np.ndarray, float]:
    """The image with the background painted white, and the fraction of pixels kept."""
    import cv2

    height, width = image.shape[:2]
    mx, my = max(1, int(width * MARGIN)), max(1, int(height * MARGIN))
    rect = (mx, my, width - 2 * mx, height - 2 * my)
    if rect[2] < 2 or rect[3] < 2:
        return image, 1.0
    mask = np.zeros((height, width), np.uint8)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    cv2.grabCut(bgr, mask, rect, bgd, fgd, ITERATIONS, cv2.GC_INIT_WITH_RECT)
    keep = (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)
    kept = float(keep.mean())
    if kept < MIN_KEPT:
        logger.warning("segmentation kept %.1f%% of the query: using the whole photo", 100 * kept)
        return image, 1.0
    out = np.full_like(image, 255)
    out[keep] = image[keep]
    return out, kept

"""Studio cut-outs: catalogue shots cut on their plain backdrop, the localiser's garments.

A catalogue shot's backdrop gives a reliable box and GrabCut a clean mask (mean IoU 0.8
against the truth, ``docs/benchmarks.md``). Cuts the quality check rejects, and cuts that
touch the frame (close-ups: the garment is not whole), are left out and counted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from dataset.core.errors import UserError
from dataset.core.store import Store
from dataset.images.safe import BadImage, open_image
from dataset.segmentation.config import SegmentConfig
from dataset.segmentation.cut import segment_array

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
MAX_BORDER_TOUCH = 0.02  # share of the frame's border pixels the garment may cover


@dataclass
class Cutout:
    """A garment cropped to its mask's box: RGB pixels and the boolean mask, same size."""

    rgb: np.ndarray
    mask: np.ndarray


def cut_on_backdrop(rgb: np.ndarray, longest: int) -> Cutout | str:
    """The garment of a studio shot, at most ``longest`` pixels long; else why not."""
    import cv2

    scale = min(1.0, longest / max(rgb.shape[:2]))
    if scale < 1.0:
        size = (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    mask, _box, source, problem = segment_array(rgb, None, SegmentConfig.model_validate({}))
    if source != "backdrop":
        return "no plain backdrop"
    if problem is not None:
        return problem
    # GrabCut keeps a thin rim of backdrop around the garment: pasted on a scene, a white
    # outline the network would learn to look for. Two pixels off the edge remove it.
    mask = cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=2) > 0
    if not mask.any():
        return "mask too small"
    border = np.concatenate([mask[0], mask[-1], mask[:, 0], mask[:, -1]])
    if border.mean() > MAX_BORDER_TOUCH:
        return "garment touches the frame"
    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    return Cutout(rgb[y0:y1, x0:x1].copy(), mask[y0:y1, x0:x1].copy())


def collect_cutouts(store: Store, limit: int, longest: int) -> tuple[list[Cutout], dict[str, int]]:
    """Up to ``limit`` cut-outs from the images in ``store`` (a folder), spread over all.

    Returns the cut-outs and a count per outcome (``cut`` or why a shot was left out).
    """
    keys = sorted(k for k in store.list() if k.lower().endswith(IMAGE_SUFFIXES))
    if not keys:
        raise UserError(f"no images in {store.uri}")
    # Twice the limit is tried, evenly spread, since some shots are left out.
    step = max(1, len(keys) // (2 * limit))
    cutouts: list[Cutout] = []
    counts: dict[str, int] = {}
    for key in keys[::step]:
        if len(cutouts) >= limit:
            break
        try:
            rgb = np.asarray(open_image(store.read_bytes(key), mode="RGB"))
        except BadImage as exc:
            outcome: Cutout | str = f"bad image: {exc.reason}"
        else:
            outcome = cut_on_backdrop(rgb, longest)
        if isinstance(outcome, Cutout):
            cutouts.append(outcome)
            outcome = "cut"
        counts[outcome] = counts.get(outcome, 0) + 1
    logger.info("studio cut-outs from %s: %s", store.uri, counts)
    return cutouts, counts

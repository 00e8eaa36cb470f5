"""Cut one garment out of its photo: a box, GrabCut inside it, a quality check.

The box comes from the best source available: an annotation's bounding box; on a
plain studio backdrop, the region that differs from the border colour; else a
centred default. It is enlarged by a safety margin (a tight box cuts sleeves off)
and GrabCut runs inside it on a downscaled copy (a few iterations at ~160 px take
milliseconds, the mask is scaled back). A cut that covers too little of the box or
sits off-centre is rejected: the caller keeps the unsegmented image instead.

>>> import numpy as np
>>> photo = np.full((80, 60, 3), 240, np.uint8); photo[20:60, 15:45] = (150, 20, 30)
>>> mask, box, source, problem = segment_array(photo, None, SegmentConfig())
>>> source, problem, round(float(mask.mean()), 2)
('backdrop', None, 0.25)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dataset.images.background import object_box
from dataset.segmentation.config import SegmentConfig

Box = tuple[int, int, int, int]


def choose_box(
    rgb: np.ndarray, annotation: Sequence[float] | None, config: SegmentConfig
) -> tuple[Box, str]:
    """The starting box ``(x0, y0, x1, y1)`` before the margin, and where it came from."""
    import cv2

    height, width = rgb.shape[:2]
    if annotation is not None and len(annotation) == 4:
        x0, y0, x1, y1 = (int(round(float(v))) for v in annotation)
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(width, x1), min(height, y1)
        if x1 - x0 >= 4 and y1 - y0 >= 4:
            return (x0, y0, x1, y1), "annotation"
    box = object_box(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
    if box is not None:
        return box, "backdrop"
    side = config.default_box
    dx, dy = round(width * (1 - side) / 2), round(height * (1 - side) / 2)
    return (dx, dy, width - dx, height - dy), "default"


def enlarge(box: Box, margin: float, width: int, height: int) -> Box:
    x0, y0, x1, y1 = box
    mx, my = round((x1 - x0) * margin), round((y1 - y0) * margin)
    return max(0, x0 - mx), max(0, y0 - my), min(width, x1 + mx), min(height, y1 + my)


def grabcut(rgb: np.ndarray, box: Box, config: SegmentConfig) -> np.ndarray:
    """Boolean foreground mask of ``rgb`` (full size) from GrabCut inside ``box``."""
    import cv2

    height, width = rgb.shape[:2]
    scale = min(1.0, config.work_size / max(height, width))
    small = cv2.resize(rgb, (max(1, round(width * scale)), max(1, round(height * scale))),
                       interpolation=cv2.INTER_AREA)  # fmt: skip
    sh, sw = small.shape[:2]
    x0, y0, x1, y1 = (int(round(v * scale)) for v in box)
    # GrabCut needs some background outside the rectangle: keep a 1-pixel frame.
    x0, y0 = max(1, x0), max(1, y0)
    x1, y1 = min(sw - 1, x1), min(sh - 1, y1)
    mask = np.zeros((sh, sw), np.uint8)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(
        cv2.cvtColor(small, cv2.COLOR_RGB2BGR), mask, (x0, y0, x1 - x0, y1 - y0), bgd, fgd,
        config.iterations, cv2.GC_INIT_WITH_RECT,
    )  # fmt: skip
    foreground = np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.float32)
    full = cv2.resize(foreground, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.asarray(full >= 0.5)


def check_mask(mask: np.ndarray, box: Box, config: SegmentConfig) -> str | None:
    """Why the cut is not trusted (``None``: it is)."""
    x0, y0, x1, y1 = box
    area = float(mask.sum())
    if area < config.min_box_fill * (x1 - x0) * (y1 - y0):
        return "mask too small"
    if area > config.max_image_fill * mask.size:
        return "mask fills the image"
    ys, xs = np.nonzero(mask)
    off_x = abs(xs.mean() - (x0 + x1) / 2) / (x1 - x0)
    off_y = abs(ys.mean() - (y0 + y1) / 2) / (y1 - y0)
    if max(off_x, off_y) > config.max_centre_offset:
        return "mask off-centre"
    return None


def segment_array(
    rgb: np.ndarray, annotation: Sequence[float] | None, config: SegmentConfig
) -> tuple[np.ndarray, Box, str, str | None]:
    """``(mask, box, box source, problem)``; ``problem`` is ``None`` when the cut is good."""
    height, width = rgb.shape[:2]
    start, source = choose_box(rgb, annotation, config)
    box = enlarge(start, config.margin, width, height)
    mask = grabcut(rgb, box, config)
    return mask, box, source, check_mask(mask, box, config)


def on_white(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The garment on a white background, the same size as the photo."""
    out = np.full_like(rgb, 255)
    out[mask] = rgb[mask]
    return out

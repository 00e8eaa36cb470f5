"""Cut one garment out of its photo: a box, GrabCut inside it, a quality check.

The box comes from the best source available: an annotation's bounding box; the
garment localiser's box (:mod:`dataset.segmentation.localiser`, given by the caller);
on a plain studio backdrop, the region that differs from the border colour; else a
centred default. Where the localiser and the backdrop agree (a studio shot), the
backdrop's box is tried first: it follows the garment to the pixel. With a localiser,
every cut must also overlap the localiser's coarse mask, and that mask seeds GrabCut in
every box (garment cells probable foreground, the others probable background; in the
localiser's own box its surest background cells certain background). The box is
enlarged by a safety margin (a tight box cuts sleeves off) and GrabCut runs inside it
on a downscaled copy (a few iterations at ~160 px take milliseconds, the mask is scaled
back), from a fixed random seed so that a photo's cut never depends on what was cut
before it. A cut that covers too little of the box or sits off-centre is rejected and the
next box is tried; when none passes, the localiser's own mask is the cut if it passes the
check, else the caller keeps the unsegmented image.

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


def box_iou(a: Box, b: Box) -> float:
    width = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - width * height
    return width * height / max(union, 1)


def candidate_boxes(
    rgb: np.ndarray,
    annotation: Sequence[float] | None,
    localised: Box | None,
    config: SegmentConfig,
) -> list[tuple[Box, str]]:
    """The starting boxes ``(x0, y0, x1, y1)`` to try in order, before the margin, each
    with where it came from."""
    import cv2

    height, width = rgb.shape[:2]
    if annotation is not None and len(annotation) == 4:
        x0, y0, x1, y1 = (int(round(float(v))) for v in annotation)
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(width, x1), min(height, y1)
        if x1 - x0 >= 4 and y1 - y0 >= 4:
            return [((x0, y0, x1, y1), "annotation")]
    backdrop = object_box(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
    boxes: list[tuple[Box, str]] = []
    if localised is not None:
        boxes.append((localised, "localiser"))
    if backdrop is not None:
        agree = localised is not None and box_iou(localised, backdrop) >= config.backdrop_agreement
        boxes.insert(0 if agree else len(boxes), (backdrop, "backdrop"))
    if boxes:
        return boxes
    side = config.default_box
    dx, dy = round(width * (1 - side) / 2), round(height * (1 - side) / 2)
    return [((dx, dy, width - dx, height - dy), "default")]


def enlarge(box: Box, margin: float, width: int, height: int) -> Box:
    x0, y0, x1, y1 = box
    mx, my = round((x1 - x0) * margin), round((y1 - y0) * margin)
    return max(0, x0 - mx), max(0, y0 - my), min(width, x1 + mx), min(height, y1 + my)


def grabcut(
    rgb: np.ndarray,
    box: Box,
    config: SegmentConfig,
    prior: np.ndarray | None = None,
    certain_background: float = 0.0,
) -> np.ndarray:
    """Boolean foreground mask of ``rgb`` (full size) from GrabCut inside ``box``.

    ``prior``: the localiser's coarse garment probabilities; inside the box, cells it
    calls garment start as probable foreground and the others as probable background
    (certain background under ``certain_background``), so clutter inside the box starts
    on the right side. Without it, the whole box starts as probable foreground."""
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
    image = cv2.cvtColor(small, cv2.COLOR_RGB2BGR)
    rect = (x0, y0, x1 - x0, y1 - y0)
    # GrabCut starts its colour models with k-means on OpenCV's global random state: a
    # fixed seed makes each photo's cut the same whatever was cut before it, in any worker.
    cv2.setRNGSeed(0)
    if prior is None:
        cv2.grabCut(image, mask, rect, bgd, fgd, config.iterations, cv2.GC_INIT_WITH_RECT)
    else:
        garment = cv2.resize(prior.astype(np.float32), (sw, sh), interpolation=cv2.INTER_LINEAR)
        inside = np.where(garment >= config.prior_threshold, cv2.GC_PR_FGD, cv2.GC_PR_BGD)
        inside[garment < certain_background] = cv2.GC_BGD
        mask[y0:y1, x0:x1] = inside[y0:y1, x0:x1]
        if not (mask == cv2.GC_PR_FGD).any() or not (mask != cv2.GC_PR_FGD).any():
            mask[:] = 0
            mask[y0:y1, x0:x1] = cv2.GC_PR_FGD
        cv2.grabCut(image, mask, rect, bgd, fgd, config.iterations, cv2.GC_INIT_WITH_MASK)
    foreground = np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.float32)
    full = cv2.resize(foreground, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.asarray(full >= 0.5)


def guide_mask(prior: np.ndarray, width: int, height: int, config: SegmentConfig) -> np.ndarray:
    """The localiser's coarse garment probabilities as a full-size boolean mask."""
    import cv2

    full = cv2.resize(prior.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    return np.asarray(full >= config.prior_threshold)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def _agrees(mask: np.ndarray, guide: np.ndarray, config: SegmentConfig) -> bool:
    return _iou(mask, guide) >= config.min_localiser_agreement


def check_mask(
    mask: np.ndarray, box: Box, config: SegmentConfig, guide: np.ndarray | None = None
) -> str | None:
    """Why the cut is not trusted (``None``: it is).

    ``guide``: the localiser's mask. A cut in its box must agree with it instead of
    filling a share of the box: a thin or diagonal garment fills little of its box."""
    x0, y0, x1, y1 = box
    area = float(mask.sum())
    if guide is not None:
        if area < config.min_object_fill * mask.size:
            return "mask too small"
        if not _agrees(mask, guide, config):
            return "mask disagrees with the localiser"
    elif area < config.min_box_fill * (x1 - x0) * (y1 - y0):
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
    rgb: np.ndarray,
    annotation: Sequence[float] | None,
    config: SegmentConfig,
    localised: Box | None = None,
    prior: np.ndarray | None = None,
) -> tuple[np.ndarray, Box, str, str | None]:
    """``(mask, box, box source, problem)``; ``problem`` is ``None`` when the cut is good.

    ``localised``: the localiser's box for this photo, if any, and ``prior`` its coarse
    garment probabilities (GrabCut's seeds: ``SegmentConfig.prior_in_every_box``). The
    first box whose cut passes the check wins; when none does, the first box's cut and
    its problem."""
    height, width = rgb.shape[:2]
    # A localiser that found nothing (no box) referees nothing.
    guide = None
    if prior is not None and localised is not None:
        guide = guide_mask(prior, width, height, config)
    first: tuple[np.ndarray, Box, str, str | None] | None = None
    for start, source in candidate_boxes(rgb, annotation, localised, config):
        from_localiser = source == "localiser"
        margin = config.localiser_margin if from_localiser else config.margin
        box = enlarge(start, margin, width, height)
        seeded = from_localiser or config.prior_in_every_box
        certain = config.prior_background if from_localiser else 0.0
        mask = grabcut(rgb, box, config, prior if guide is not None and seeded else None, certain)
        if (
            guide is not None
            and not from_localiser
            and config.prior_in_every_box
            and mask.sum() < config.recut_below * guide.sum()
        ):
            # Seeded by a localiser that barely sees the garment: the whole box may do better.
            whole = grabcut(rgb, box, config)
            if check_mask(whole, box, config) is None and _agrees(whole, guide, config):
                mask = whole
        problem = check_mask(mask, box, config, guide if from_localiser else None)
        # The localiser referees the other boxes too: a plain wall behind a shopper's
        # garment gives a backdrop box around the wrong thing.
        refereed = problem is None and not from_localiser
        if refereed and guide is not None and not _agrees(mask, guide, config):
            problem = "mask disagrees with the localiser"
        if problem is None:
            return mask, box, source, None
        first = first or (mask, box, source, problem)
    assert first is not None  # candidate_boxes always gives at least one box
    if localised is not None and guide is not None:
        # GrabCut found no garment the checks trust (a garment the colour of its
        # background, a dark room): the localiser's own coarse mask beats the whole image.
        box = enlarge(localised, config.localiser_margin, width, height)
        if check_mask(guide, box, config, guide) is None:
            return guide, box, "localiser mask", None
    return first


def on_white(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The garment on a white background, the same size as the photo."""
    out = np.full_like(rgb, 255)
    out[mask] = rgb[mask]
    return out

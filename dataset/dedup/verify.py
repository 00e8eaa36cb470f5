"""Stage 2: confirm or reject each candidate pair with aligned thumbnails.

Hashes put two different garments of the same cut and colour a few bits apart, and a
copy shifted by 8 px can be 20 bits away. The check that separates them: grey
thumbnails (``thumb_size`` square), brightness normalised (zero mean, unit variance, so
+12% brightness vanishes), aligned by phase correlation (recovers shifts and most of a
small crop), then compared on the overlap twice: normalised cross-correlation of the
grey levels (``ncc``: the silhouette and shading) and of the gradient magnitudes
(``edge_ncc``: stripes, pockets, prints, buttons: what tells two same-cut garments
apart). A pair is confirmed when both pass and the shift is plausible. The thresholds
come from the measurement in ``bench/dedup_bench.py`` (see docs/dedup.md).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dataset.core.store import Store
from dataset.dedup.config import DedupConfig
from dataset.images.background import object_box
from dataset.images.safe import BadImage, open_image

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Thumbs:
    """The views of one image that stage 2 compares."""

    full: np.ndarray  # the whole frame, grey, standardised
    object: np.ndarray | None  # the object cropped from a plain backdrop (None: not plain)
    chroma: np.ndarray  # (a*, b*) of CIELAB on a small grid of the object (or frame)


CHROMA_GRID = 12


def thumbnail(data: bytes, size: int, max_pixels: int) -> Thumbs:
    """Grey ``size`` x ``size`` thumbnails (zero mean, unit variance) and a chroma grid."""
    import cv2

    image = open_image(data, max_pixels=max_pixels, mode="RGB", draft=2 * size)
    rgb = np.asarray(image)
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    box = object_box(grey)
    crop = rgb
    if box is not None:
        x0, y0, x1, y1 = box
        # A margin keeps the silhouette's edge inside the crop.
        pad = max(1, round(0.04 * max(x1 - x0, y1 - y0)))
        crop = rgb[max(0, y0 - pad) : y1 + pad, max(0, x0 - pad) : x1 + pad]
    lab = cv2.cvtColor(
        cv2.resize(crop, (CHROMA_GRID, CHROMA_GRID), interpolation=cv2.INTER_AREA),
        cv2.COLOR_RGB2LAB,
    )
    return Thumbs(
        full=_grey_thumb(rgb, size),
        object=_grey_thumb(crop, size) if box is not None else None,
        chroma=lab[..., 1:].astype(np.float32),
    )


def _grey_thumb(rgb: np.ndarray, size: int) -> np.ndarray:
    import cv2

    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return _standardise(cv2.resize(grey, (size, size), interpolation=cv2.INTER_AREA))


def _standardise(pixels: np.ndarray) -> np.ndarray:
    pixels = pixels - pixels.mean()
    return (pixels / max(float(pixels.std()), 1e-3)).astype(np.float32)


def _ncc(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    denominator = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denominator) if denominator > 1e-6 else 0.0


def _edges(pixels: np.ndarray) -> np.ndarray:
    import cv2

    gx = cv2.Sobel(pixels, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(pixels, cv2.CV_32F, 0, 1, ksize=3)
    # A light blur forgives the half-pixel misalignment that re-sampling leaves.
    return cv2.GaussianBlur(cv2.magnitude(gx, gy), (3, 3), 0)


def compare_views(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """``(ncc, edge_ncc, shift)`` of two grey thumbnails after aligning ``b`` onto ``a``."""
    import cv2

    size = a.shape[0]
    # phaseCorrelate windows its inputs in place: hand it copies, thumbnails are reused.
    (dx, dy), _response = cv2.phaseCorrelate(a.copy(), b.copy(), _window(size))
    shift = float(np.hypot(dx, dy))
    matrix = np.array([[1, 0, -dx], [0, 1, -dy]], dtype=np.float32)
    aligned = cv2.warpAffine(b, matrix, (size, size), borderMode=cv2.BORDER_REPLICATE)
    margin = min(int(np.ceil(max(abs(dx), abs(dy)))) + 1, size // 4)
    inner = slice(margin, size - margin)
    a_in, b_in = a[inner, inner], aligned[inner, inner]
    return _ncc(a_in, b_in), _ncc(_edges(a)[inner, inner], _edges(aligned)[inner, inner]), shift


def compare(a: Thumbs, b: Thumbs) -> tuple[float, float, float, float]:
    """``(ncc, edge_ncc, shift, chroma)``: the better of the frame and the object views.

    The object view undoes small crops and resizes of the frame (which change the
    scale of the content, something phase correlation cannot align); the frame view
    covers busy backgrounds. ``chroma`` is the mean CIELAB (a*, b*) distance: grey
    thumbnails alone cannot tell a beige dress from a grey one.
    """
    best = compare_views(a.full, b.full)
    if a.object is not None and b.object is not None:
        by_object = compare_views(a.object, b.object)
        if min(by_object[:2]) > min(best[:2]):
            best = by_object
    chroma = float(np.linalg.norm(a.chroma - b.chroma, axis=-1).mean())
    return (*best, chroma)


_WINDOWS: dict[int, np.ndarray] = {}


def _window(size: int) -> np.ndarray:
    import cv2

    if size not in _WINDOWS:
        _WINDOWS[size] = cv2.createHanningWindow((size, size), cv2.CV_32F)
    return _WINDOWS[size]


def verify_pairs(
    store: Store,
    image_paths: Sequence[str],
    left: np.ndarray,
    right: np.ndarray,
    config: DedupConfig,
    *,
    progress: bool = False,
) -> pd.DataFrame:
    """Scores of candidate pairs ``(image_paths[left[k]], image_paths[right[k]])``.

    Columns ``ncc, edge_ncc, shift, chroma, confirmed``. An image that cannot be read again
    (deleted meanwhile) gives ``confirmed = False``.
    """
    from tqdm import tqdm

    thumbs: dict[int, Thumbs | None] = {}
    needed: list[int] = np.unique(np.concatenate([left, right])).tolist() if len(left) else []
    for index in tqdm(needed, desc="thumbnails", unit="img", disable=not progress):
        try:
            data = store.read_bytes(image_paths[index])
            thumbs[int(index)] = thumbnail(data, config.thumb_size, config.max_pixels)
        except (BadImage, Exception) as exc:  # counted as unconfirmed, never a crash
            logger.warning("%s: not verifiable (%s)", image_paths[index], exc)
            thumbs[int(index)] = None
    rows = np.zeros((len(left), 4), np.float32)
    ok = np.zeros(len(left), bool)
    pairs = zip(left.tolist(), right.tolist(), strict=True)
    for k, (i, j) in enumerate(
        tqdm(pairs, total=len(left), desc="verifying", disable=not progress)
    ):
        a, b = thumbs[i], thumbs[j]
        if a is None or b is None:
            continue
        rows[k] = compare(a, b)
        ok[k] = True
    frame = pd.DataFrame(rows, columns=["ncc", "edge_ncc", "shift", "chroma"])
    frame["confirmed"] = (
        ok
        & (frame["ncc"] >= config.min_ncc)
        & (frame["edge_ncc"] >= config.min_edge_ncc)
        & (frame["shift"] <= config.max_shift * config.thumb_size)
        & (frame["chroma"] <= config.max_chroma)
    )
    return frame

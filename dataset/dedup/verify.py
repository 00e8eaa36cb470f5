"""Stage 2: confirm or reject each candidate pair: aligned thumbnails and local features.

Hashes put two different garments of the same cut and colour a few bits apart, and a
copy shifted by 8 px can be 20 bits away. Two checks, from views computed once per
image (:class:`ImageViews`, not per pair):

- aligned thumbnails: grey ``thumb_size`` squares, brightness normalised, aligned by
  phase correlation, compared on the overlap (``ncc`` of grey levels, ``edge_ncc`` of
  gradient magnitudes), plus ``chroma``, the mean CIELAB (a*, b*) distance;
- geometric verification (:mod:`dataset.dedup.geometry`): ORB features, ratio test,
  RANSAC similarity (``matches``, ``inliers``, ``inlier_ratio``) and the gradient
  correlation after that warp (``warped_edge_ncc``), which undoes crops and rotations
  that phase correlation cannot.

The decision (:func:`decide`) combines them with thresholds calibrated on data by
:mod:`dataset.dedup.calibrate` (see docs/dedup.md). Pairs are scored in parallel.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from functools import cache, partial
from typing import Any, NamedTuple, TypeAlias

import numpy as np
import pandas as pd

from dataset.core.store import Store
from dataset.dedup.config import DedupConfig
from dataset.dedup.geometry import NO_MATCH, Keypoints, keypoints, match
from dataset.dedup.pixels import FeaturePixels, Place, read_spilled
from dataset.dedup.schedule import PairTask, pair_streams
from dataset.images.background import object_box
from dataset.images.safe import open_image

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Thumbs:
    """The views of one image that stage 2 compares."""

    full: np.ndarray  # the whole frame, grey, standardised
    object: np.ndarray | None  # the object cropped from a plain backdrop (None: not plain)
    chroma: np.ndarray  # (a*, b*) of CIELAB on a small grid of the object (or frame)


CHROMA_GRID = 12


def _thumbs(views: ImageViews, size: int) -> Thumbs:
    grey, box = views.keypoints.grey, views.box
    crop = grey[box[1] : box[3], box[0] : box[2]] if box is not None else None
    return Thumbs(
        full=_grey_thumb(grey, size),
        object=_grey_thumb(crop, size) if crop is not None else None,
        chroma=views.chroma,
    )


@dataclass(frozen=True)
class ImageViews:
    """What stage 2 keeps of one image, computed once from one decode (compact: it is
    sent to the scoring processes); thumbnails are derived from it per task."""

    keypoints: Keypoints  # ORB features and the grey image (longer side feature_side)
    box: tuple[int, int, int, int] | None  # the object in that grey image
    chroma: np.ndarray


class Decoded(NamedTuple):
    """One decode of an image: what the hashes (stage 1) and the views (stage 2) start
    from."""

    pixels: FeaturePixels
    grey: np.ndarray  # grey levels of ``pixels.rgb``
    object_box: tuple[int, int, int, int] | None  # the object in ``grey``, no margin
    size: tuple[int, int]  # (width, height) of the image itself


def decode(data: bytes, feature_side: int, max_pixels: int) -> Decoded:
    """The image in RGB, its longer side ``feature_side``, its grey levels, the object's
    box and its chroma grid (CIELAB a*, b* of 8-bit RGB: whole numbers, ``uint8``);
    raises :class:`BadImage`. Stage 1 hashes the grey levels and stores the grid beside
    the hashes, so that the chroma gate runs on every candidate pair before any view is
    made, and leaves the rest to stage 2 (:mod:`dataset.dedup.pixels`)."""
    import cv2

    image = open_image(data, max_pixels=max_pixels, mode="RGB", draft=feature_side)
    rgb = np.asarray(image)
    scale = feature_side / max(rgb.shape[:2])
    size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
    rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    found = object_box(grey)
    box, crop = found, rgb
    if found is not None:
        x0, y0, x1, y1 = found
        # A margin keeps the silhouette's edge inside the crop.
        pad = max(1, round(0.04 * max(x1 - x0, y1 - y0)))
        box = (max(0, x0 - pad), max(0, y0 - pad), x1 + pad, y1 + pad)
        crop = rgb[box[1] : box[3], box[0] : box[2]]
    lab = cv2.cvtColor(
        cv2.resize(crop, (CHROMA_GRID, CHROMA_GRID), interpolation=cv2.INTER_AREA),
        cv2.COLOR_RGB2LAB,
    )
    grid = np.ascontiguousarray(lab[..., 1:])
    return Decoded(FeaturePixels(rgb, box, grid), grey, found, image.info["original_size"])


def feature_pixels(data: bytes, feature_side: int, max_pixels: int) -> FeaturePixels:
    """The pixels :func:`image_views` starts from (:func:`decode`)."""
    return decode(data, feature_side, max_pixels).pixels


def chroma_distances(grids: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """:func:`chroma_distance` of the pairs ``(grids[left[k]], grids[right[k]])``, compiled
    (:mod:`dataset.dedup.probe`; the same cell distances, summed in float64: equal to
    float32 rounding)."""
    from dataset.dedup.probe import chroma_distances as compiled

    cells = np.ascontiguousarray(grids.reshape(len(grids), -1, 2), dtype=np.float32)
    return compiled(cells, np.ascontiguousarray(left), np.ascontiguousarray(right))


def image_views(data: bytes, config: DedupConfig) -> ImageViews:
    """The views of one image; raises :class:`BadImage`."""
    return views_of(feature_pixels(data, config.feature_side, config.max_pixels), config)


def views_of(pixels: FeaturePixels, config: DedupConfig) -> ImageViews:
    """The views of an image from its pixels at ``feature_side``."""
    import cv2

    grey = cv2.cvtColor(pixels.rgb, cv2.COLOR_RGB2GRAY)
    lab = cv2.cvtColor(pixels.rgb, cv2.COLOR_RGB2LAB)
    chroma = pixels.grid.astype(np.float32)
    return ImageViews(keypoints(grey, lab, config.max_features), pixels.box, chroma)


def score_pair(
    a: ImageViews,
    b: ImageViews,
    config: DedupConfig,
    thumbs: Callable[[], tuple[Thumbs, ...]],
    *,
    every_score: bool = False,
) -> dict[str, float]:
    """The scores of the module docstring for one pair, as far as the decision under
    ``config`` reads them (the rest is left out: NaN): the chroma grids reject the
    look-alikes of another colour; the aligned thumbnails (``thumbs``, made on first use)
    only judge pairs that the similarity cannot: fewer than ``min_inliers`` inliers, or
    an inlier ratio under ``min_inlier_ratio``; the recoloured regions only pairs whose
    edges agree. ``every_score`` (calibration, which searches the other thresholds):
    the thumbnails' and the recoloured regions' scores of every pair the gate passes."""
    chroma = chroma_distance(a.chroma, b.chroma)
    if chroma > config.max_chroma:
        return {"chroma": chroma}
    geometric = match(
        a.keypoints, b.keypoints, config.min_inliers, config.min_inlier_ratio,
        recolour_if=None if every_score else partial(_edges_agree, config=config),
    )  # fmt: skip
    if _fitted(geometric["inliers"], geometric["inlier_ratio"], config) and not every_score:
        return {"chroma": chroma, **geometric}
    thumbs_a, thumbs_b = thumbs()
    ncc, edge_ncc, shift = compare(thumbs_a, thumbs_b, config.min_ncc)
    return {"ncc": ncc, "edge_ncc": edge_ncc, "shift": shift, "chroma": chroma, **geometric}


def _fitted(inliers: Any, inlier_ratio: Any, config: DedupConfig) -> Any:
    """Whether local features judge a pair (scalars or arrays; NaN: not fitted): a fit of
    ``min_inliers`` inliers that explains ``min_inlier_ratio`` of the photo. A lower
    ratio is a fit to a few corners of a smooth photo, which a crop or a shift of it
    need not repeat: the thumbnails judge it instead."""
    return (inliers >= config.min_inliers) & (inlier_ratio >= config.min_inlier_ratio)


def chroma_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean CIELAB (a*, b*) distance of two chroma grids: grey levels alone cannot tell a
    beige dress from a grey one."""
    return float(np.linalg.norm(a - b, axis=-1).mean())


def _grey_thumb(grey: np.ndarray, size: int) -> np.ndarray:
    import cv2

    small = cv2.resize(grey, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)
    return _standardise(small)


def _standardise(pixels: np.ndarray) -> np.ndarray:
    pixels = pixels - pixels.mean()
    return (pixels / max(float(pixels.std()), 1e-3)).astype(np.float32)


def _ncc(a: np.ndarray, b: np.ndarray) -> float:
    from dataset.dedup.kernels import correlation

    return float(correlation(a, b, _everywhere(a.shape)))


@cache
def _everywhere(shape: tuple[int, ...]) -> np.ndarray:
    return np.ones(shape, bool)


def _edges(pixels: np.ndarray) -> np.ndarray:
    import cv2

    gx = cv2.Sobel(pixels, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(pixels, cv2.CV_32F, 0, 1, ksize=3)
    # A light blur forgives the half-pixel misalignment that re-sampling leaves.
    return cv2.GaussianBlur(cv2.magnitude(gx, gy), (3, 3), 0)


# Scales at which the aligned thumbnails are compared again (see compare_views).
RESCALES = (0.96, 1.04)


def compare_views(a: np.ndarray, b: np.ndarray, min_ncc: float) -> tuple[float, float, float]:
    """``(ncc, edge_ncc, shift)`` of two grey thumbnails after aligning ``b`` onto ``a``:
    by phase correlation, and where the grey levels agree then (``ncc >= min_ncc``) also
    with ``b`` scaled by each of :data:`RESCALES` first, the best of them (the lower of
    ``ncc`` and ``edge_ncc`` highest). Phase correlation finds a shift only; a crop of a
    few per cent changes the scale of a smooth photo too, whose outlines then miss each
    other by a pixel or two at the thumbnail's border while the grey levels agree.

    ``edge_ncc`` is NaN where the grey levels disagree (``ncc < min_ncc``): the decision
    rejects such an alignment whatever its edges, and they are not computed."""
    import cv2

    a_edges: list[np.ndarray] = []  # a's gradients, computed once if any alignment needs them

    def aligned(view: np.ndarray) -> tuple[float, float, float]:
        ncc, shift, inner, warped = _aligned(a, view)
        if ncc < min_ncc:
            return ncc, float("nan"), shift
        if not a_edges:
            a_edges.append(_edges(a))
        return ncc, _ncc(a_edges[0][inner, inner], _edges(warped)[inner, inner]), shift

    best = aligned(b)
    if best[0] < min_ncc:
        return best
    centre = (a.shape[1] / 2, a.shape[0] / 2)
    for scale in RESCALES:
        matrix = cv2.getRotationMatrix2D(centre, 0.0, scale)
        size = (b.shape[1], b.shape[0])
        found = aligned(cv2.warpAffine(b, matrix, size, borderMode=cv2.BORDER_REPLICATE))
        if _agreement(found) > _agreement(best):
            best = found
    return best


def _agreement(scores: tuple[float, float, float]) -> float:
    """How well two thumbnails agree: the lower of ``ncc`` and ``edge_ncc`` (``ncc`` where
    the edges were not computed; either fails the decision)."""
    ncc, edge_ncc, _shift = scores
    return ncc if np.isnan(edge_ncc) else min(ncc, edge_ncc)


def _aligned(a: np.ndarray, b: np.ndarray) -> tuple[float, float, slice, np.ndarray]:
    """``(ncc, shift, inner, warped)`` after phase correlation (a shift) of ``b`` onto
    ``a``: ``inner`` is the overlap's slice on both axes, ``warped`` the shifted ``b``."""
    import cv2

    size = a.shape[0]
    # phaseCorrelate windows its inputs in place: hand it copies, thumbnails are reused.
    (dx, dy), _response = cv2.phaseCorrelate(a.copy(), b.copy(), _window(size))
    shift = float(np.hypot(dx, dy))
    matrix = np.array([[1, 0, -dx], [0, 1, -dy]], dtype=np.float32)
    warped = cv2.warpAffine(b, matrix, (size, size), borderMode=cv2.BORDER_REPLICATE)
    margin = min(int(np.ceil(max(abs(dx), abs(dy)))) + 1, size // 4)
    inner = slice(margin, size - margin)
    return _ncc(a[inner, inner], warped[inner, inner]), shift, inner, warped


def compare(a: Thumbs, b: Thumbs, min_ncc: float) -> tuple[float, float, float]:
    """``(ncc, edge_ncc, shift)``: the better of the frame and the object views
    (:func:`compare_views`; ``min_ncc``: from which the other scales are tried).

    The object view undoes small crops and resizes of the frame (which change the
    scale of the content, something phase correlation cannot align); the frame view
    covers busy backgrounds.
    """
    best = compare_views(a.full, b.full, min_ncc)
    if a.object is not None and b.object is not None:
        by_object = compare_views(a.object, b.object, min_ncc)
        if _agreement(by_object) > _agreement(best):
            best = by_object
    return best


_WINDOWS: dict[int, np.ndarray] = {}


def _window(size: int) -> np.ndarray:
    import cv2

    if size not in _WINDOWS:
        _WINDOWS[size] = cv2.createHanningWindow((size, size), cv2.CV_32F)
    return _WINDOWS[size]


SCORES = ["ncc", "edge_ncc", "shift", "chroma", *NO_MATCH]
Scores: TypeAlias = "pd.DataFrame | Mapping[str, np.ndarray]"  # score columns, by name
PAIR_CHUNK = 512  # pairs per task at most: the progress bar moves every task

# Worker state, set by the pool initializer (not pickled per task); ``views`` and
# ``thumbs`` hold the images of the worker's stream whose pairs are not all scored yet.
_WORKER: dict[str, Any] = {}


def _init_worker(
    store_uri: str,
    config: DedupConfig,
    spilled: Sequence[Place | None],
    every_score: bool = False,
) -> None:
    import cv2

    from dataset.core.store import open_store

    cv2.setNumThreads(1)  # one process per core already: no threads on top
    views: dict[int, ImageViews] = {}
    _WORKER.update(
        config=config, store=open_store(store_uri), views=views, unreadable=set(),
        thumbs=_LazyThumbs(views, config.thumb_size), spilled=spilled,
        every_score=every_score,
    )  # fmt: skip


def _verify_chunk(task: PairTask) -> tuple[np.ndarray, dict[str, str]]:
    """Scores of a task's pairs (rows of :data:`SCORES`) and the images that could not be
    read again (key -> reason, once per stream). Views are made here, from the store, and
    kept for the stream's later tasks until ``task.release``: only paths travel."""
    store: Store = _WORKER["store"]
    config: DedupConfig = _WORKER["config"]
    views: dict[int, ImageViews] = _WORKER["views"]
    unreadable: set[int] = _WORKER["unreadable"]
    thumbs: _LazyThumbs = _WORKER["thumbs"]
    failed: dict[str, str] = {}
    spilled: Sequence[Place | None] = _WORKER["spilled"]
    for index, key in task.keys.items():
        if index not in views and index not in unreadable:
            read = _read_views(store, key, config, spilled[index] if spilled else None)
            if isinstance(read, str):
                failed[key] = read
                unreadable.add(index)
            else:
                views[index] = read
    rows = np.full((len(task.left), len(SCORES)), np.nan, np.float32)
    for k, (i, j) in enumerate(zip(task.left.tolist(), task.right.tolist(), strict=True)):
        if i in views and j in views:
            scores = score_pair(
                views[i], views[j], config, partial(thumbs.of, i, j),
                every_score=_WORKER["every_score"],
            )  # fmt: skip
            rows[k] = _score_row(scores)
    for index in task.release:
        views.pop(index, None)
        thumbs.drop(index)
    return rows, failed


def _read_views(
    store: Store, key: str, config: DedupConfig, spilled: Place | None = None
) -> ImageViews | str:
    """The views of a stored image, from the pixels stage 1 left (``spilled``) or from the
    store, or why it cannot be read again (deleted meanwhile: the pair stays unconfirmed,
    never a crash)."""
    try:
        if spilled is not None:
            return views_of(read_spilled(spilled), config)
        return image_views(store.read_bytes(key), config)
    except Exception as exc:  # BadImage, a missing object, a short scratch file
        return f"{type(exc).__name__}: {exc}"


class _LazyThumbs:
    """Each image's aligned thumbnails, made on first use: only the pairs the thumbnails
    judge (no fit of local features: :func:`score_pair`) ask for them."""

    def __init__(self, views: dict[int, ImageViews], size: int) -> None:
        self._views, self._size = views, size
        self._made: dict[int, Thumbs] = {}

    def of(self, *ids: int) -> tuple[Thumbs, ...]:
        for i in ids:
            if i not in self._made:
                self._made[i] = _thumbs(self._views[i], self._size)
        return tuple(self._made[i] for i in ids)

    def drop(self, index: int) -> None:
        self._made.pop(index, None)


def _score_row(scores: dict[str, float]) -> list[float]:
    return [scores.get(name, np.nan) for name in SCORES]


def _pool(
    store_uri: str, config: DedupConfig, spilled: Sequence[Place | None], every_score: bool
) -> ProcessPoolExecutor:
    """One worker process: a stream's tasks run in order in one process, which keeps
    their views (:mod:`dataset.dedup.schedule`)."""
    import multiprocessing

    # spawn: a forked child inherits OpenCV's thread pool in whatever state, and hangs.
    return ProcessPoolExecutor(
        1,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(store_uri, config, spilled, every_score),
    )


def verify_pairs(
    store: Store,
    image_paths: Sequence[str],
    left: np.ndarray,
    right: np.ndarray,
    config: DedupConfig,
    *,
    chroma: np.ndarray | None = None,
    spilled: Sequence[Place | None] = (),
    progress: bool = False,
    every_score: bool = False,
) -> pd.DataFrame:
    """Scores of candidate pairs ``(image_paths[left[k]], image_paths[right[k]])``.

    Columns :data:`SCORES` and ``confirmed``. An image that cannot be read again
    (deleted meanwhile) gives ``confirmed = False``. With ``chroma`` (the grid of
    :func:`feature_pixels` of each image, indexed like ``image_paths``) the pairs whose
    colours differ are rejected here, as :func:`score_pair` would, and views are made only
    for the images of the other pairs; with ``spilled`` (indexed like ``image_paths``), an
    image's views are made from the pixels stage 1 left, where it left them;
    ``every_score``: see :func:`score_pair`.
    ``config.workers`` processes (default: every core), started once, each score one
    stream of pairs (:func:`schedule.pair_streams`), making each image's views once: only
    paths go to the workers and only scores come back.
    """
    from tqdm import tqdm

    scored_rows = np.full((len(left), len(SCORES)), np.nan, np.float32)
    past = np.arange(len(left))
    if chroma is not None:
        distance = chroma_distances(chroma, left, right)
        scored_rows[:, SCORES.index("chroma")] = distance
        past = np.flatnonzero(distance <= config.max_chroma)
    workers = config.workers or os.cpu_count() or 1
    streams = pair_streams(image_paths, left[past], right[past], workers, PAIR_CHUNK)
    bar = tqdm(total=len(past), desc="verifying", unit="pair", disable=not progress)

    def collect(positions: np.ndarray, rows: np.ndarray, failed: dict[str, str]) -> None:
        scored_rows[past[positions]] = rows
        for key, reason in failed.items():
            logger.warning("%s: not verifiable (%s)", key, reason)
        bar.update(len(rows))

    if len(streams) <= 1:
        for stream in streams:
            _init_worker(store.uri, config, spilled, every_score)
            for positions, task in stream:
                collect(positions, *_verify_chunk(task))
            _WORKER.clear()  # the views go with the stream
    else:
        with contextlib.ExitStack() as stack:
            pending = {}
            for stream in streams:
                pool = stack.enter_context(_pool(store.uri, config, spilled, every_score))
                pending.update({pool.submit(_verify_chunk, task): p for p, task in stream})
            for done in as_completed(pending):
                collect(pending[done], *done.result())
    bar.close()
    frame = pd.DataFrame(scored_rows, columns=SCORES)
    frame["confirmed"] = decide(frame, config)
    return frame


class OnDemandVerifier:
    """Verifies, one at a time, the pairs clustering asks about that stage 1 never
    proposed (see :func:`dataset.dedup.clusters.star_clusters`): a callable
    ``(i, j) -> confirmed`` on indices into ``image_paths``.

    ``content[i]`` is the index of the first path with ``i``'s bytes (identical bytes are
    one photo); ``scored_left``/``scored_right`` (content indices) were scored by stage 2
    already, and a pair scored there and not confirmed stays unconfirmed. Views are
    computed once per image, in this process (clustering asks about few pairs), from the
    pixels stage 1 left where ``spilled`` (indexed like ``image_paths``) has them.
    """

    def __init__(
        self,
        store: Store,
        image_paths: Sequence[str],
        config: DedupConfig,
        content: np.ndarray,
        scored_left: np.ndarray,
        scored_right: np.ndarray,
        spilled: Sequence[Place | None] = (),
    ) -> None:
        self._store, self._paths, self._config, self._content = store, image_paths, config, content
        self._spilled = spilled
        self._size = max(len(image_paths), 1)
        low, high = np.minimum(scored_left, scored_right), np.maximum(scored_left, scored_right)
        self._results: dict[int, bool] = dict.fromkeys((low * self._size + high).tolist(), False)
        self._views: dict[int, ImageViews] = {}
        self._unreadable: set[int] = set()
        self._thumbs = _LazyThumbs(self._views, config.thumb_size)
        self.verified = 0  # pairs scored here
        self.confirmed = 0

    def __call__(self, i: int, j: int) -> bool:
        i, j = sorted((int(self._content[i]), int(self._content[j])))
        if i == j:
            return True
        key = i * self._size + j
        if key not in self._results:
            self._results[key] = self._verify(i, j)
        return self._results[key]

    def _verify(self, i: int, j: int) -> bool:
        if not (self._readable(i) and self._readable(j)):
            return False
        views = self._views
        scores = score_pair(views[i], views[j], self._config, partial(self._thumbs.of, i, j))
        # One pair: arrays of one, not a frame (pandas would cost a millisecond a pair).
        columns = dict(zip(SCORES, np.array([_score_row(scores)]).T, strict=True))
        confirmed = bool(decide(columns, self._config)[0])
        self.verified += 1
        self.confirmed += confirmed
        return confirmed

    def _readable(self, index: int) -> bool:
        if index not in self._views and index not in self._unreadable:
            key = self._paths[index]
            read = _read_views(
                self._store, key, self._config, self._spilled[index] if self._spilled else None
            )
            if isinstance(read, str):
                logger.warning("%s: not verifiable (%s)", key, read)
                self._unreadable.add(index)
            else:
                self._views[index] = read
        return index in self._views


def _column(scores: Scores, name: str) -> np.ndarray:
    return np.asarray(scores[name])


def _no_missing_details(scores: Scores, config: DedupConfig) -> np.ndarray:
    """Neither photo has details the other lacks: few unmatched edges, or a few more
    where each lies under an overlay of the other photo (a watermark's text crossing an
    outline weakens the edges under it; two look-alikes each lack the other's details,
    most of them away from the details the other adds)."""
    unmatched = _column(scores, "unmatched_edges")
    overlaid = (_column(scores, "uncovered_edges") <= config.max_uncovered_edges) & (
        unmatched <= config.max_overlaid_edges
    )
    return (unmatched <= config.max_unmatched_edges) | overlaid


def _edges_agree(scores: Scores, config: DedupConfig) -> np.ndarray:
    """The gradients agree once warped and neither photo has details the other lacks
    (the geometric decision but for the recoloured regions, which cost more)."""
    correlated = _column(scores, "warped_edge_ncc") >= config.min_warped_edge_ncc
    return correlated & _no_missing_details(scores, config)


def decide(scores: Scores, config: DedupConfig) -> np.ndarray:
    """Confirmed pairs: same colours, and local features or else thumbnails agree.
    ``scores``: a frame of :data:`SCORES`, or one array per score.

    Where the similarity has ``min_inliers`` inliers and explains ``min_inlier_ratio``
    of the photo, local features judge the pair: ``geometric`` (the gradients agree once
    warped, neither photo having details the other lacks but under an overlay: crops,
    rotations, watermarks, retouches; and no detail both outline is of another colour).
    Photos too smooth for such a fit are judged ``aligned``: the thumbnails agree almost
    exactly after phase correlation (re-encodes, resizes, shifts, crops of a few per
    cent). Two look-alikes whose words differ in chroma alone align as well as copies
    do; geometry, which sees the word, has the last word where it can speak. Unscored
    pairs (NaN: an unreadable image, a gate of :func:`score_pair`) fail.
    """
    colours = _column(scores, "chroma") <= config.max_chroma
    judged = _fitted(_column(scores, "inliers"), _column(scores, "inlier_ratio"), config)
    geometric = (
        judged
        & _edges_agree(scores, config)
        & (_column(scores, "recoloured") <= config.max_recoloured)
    )
    aligned = (
        ~judged
        & (_column(scores, "ncc") >= config.min_ncc)
        & (_column(scores, "edge_ncc") >= config.min_edge_ncc)
        & (_column(scores, "shift") <= config.max_shift * config.thumb_size)
    )
    return np.asarray(colours & (geometric | aligned), dtype=bool)

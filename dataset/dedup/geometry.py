"""Geometric verification: local features matched under one similarity (copy detection).

Per image, once: ORB keypoints and descriptors on a grey copy whose longer side is
``feature_side`` (so a resized copy is seen at the same scale). Per pair: the two
nearest descriptors of each feature of ``a`` in ``b``, Lowe's ratio test, then a RANSAC
similarity (scale, rotation, shift). An edited copy (crop, shift, resize, rotation,
re-encoding) keeps most of its features in place under one similarity; a look-alike of the same cut shares its
silhouette corners but not the corners of its print, logo or buttons, which is where
ORB puts most keypoints. Scores:

- ``matches``: features that pass the ratio test;
- ``inliers``: matches consistent with the similarity (fitted to the matches of a looser
  ratio test, :data:`FIT_RATIO`; the inliers count only those of the strict one);
- ``inlier_ratio``: inliers over the features that could match: of each image those the
  similarity puts inside the other's frame, the fewer of the two (the share of one photo
  the other explains; a crop's lost margin does not count against it);
- ``warped_edge_ncc``: gradient correlation after warping ``b`` onto ``a`` with that
  similarity, on the overlap (the same detail check as the thumbnails, aligned exactly
  even after a crop or a rotation);
- ``unmatched_edges``: the share of strong edges one image has and the other lacks
  after the warp, the smaller of the two directions (see :func:`_warped_scores`);
- ``uncovered_edges``: of those, the share away from the other image's own unmatched
  edges (an overlay such as a watermark hides the edges under it; a look-alike lacks
  the other's details where it has none of its own);
- ``recoloured``: the largest region, as a share of the overlap, whose colour differs
  between the two although both photos outline it (see :func:`_recoloured`): a button or
  a logo of one shape in two colours.

``unmatched_edges`` looks at colour edges (grey levels and CIELAB a*, b*): a dark red
word printed on a purple garment has nearly the purple's grey level, and the look-alike
that lacks it differs from the photo only in chroma. ``warped_edge_ncc`` stays on grey
edges: on smooth photos a re-encode's blocky chroma would dominate it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

RATIO = 0.8  # Lowe's ratio test: the distinctive matches, which the scores count
# The looser test of the matches the similarity is fitted to: on smooth photos the
# corners of one outline look alike, so the distinctive matches are few and crowd on a
# few details, and a fit to them alone misplaces the rest of the photo by a pixel or two.
FIT_RATIO = 0.9
MIN_SCALE = 0.67  # a plausible copy's scale lies in [MIN_SCALE, 1 / MIN_SCALE] ...
MAX_ROTATION_DEG = 15.0  # ... and its rotation within this (see _plausible)
EDGE_PX = 15  # ORB finds no keypoint this close to the border (its patch would not fit)
RANSAC_PX = 4.0  # reprojection error of an inlier, in pixels at ``feature_side``
# A copy has most matches right, so RANSAC stops early; a look-alike would use them all.
RANSAC_ITERATIONS = 100
NO_MATCH = {
    "matches": 0.0,
    "inliers": 0.0,
    "inlier_ratio": 0.0,
    "warped_edge_ncc": -1.0,
    "unmatched_edges": 1.0,
    "uncovered_edges": 1.0,
    "recoloured": 1.0,
}
# The scale of an image's edges: a high percentile of its gradients. Most of a product
# photo is smooth; at the 95th percentile a plain backdrop's noise and JPEG blocks set
# the scale and pass for edges, which the copy does not share.
EDGE_PERCENTILE = 99
STRONG_EDGE = 0.3  # of that scale: a detail's outline (a faint pocket seam too)
PRESENT_EDGE = 0.3  # of that edge's strength, nearby in the other image: it is there too
OVERLAY_REACH_PX = 3  # an edge this close to the other image's own added edges is covered
# A detail recoloured: a region whose colour differs by more than this (of 255, in some RGB
# channel, after each channel's gain and offset fit) ...
RECOLOUR_LEVEL = 100.0
# ... bordered for at least this share by edges both photos have (see _recoloured).
SHARED_BORDER = 0.6


@dataclass(frozen=True)
class Keypoints:
    """The local features of one image."""

    points: np.ndarray  # (n, 2) float32, pixel coordinates in ``grey``
    descriptors: np.ndarray  # (n, 32) uint8, ORB
    grey: np.ndarray  # uint8, longer side ``feature_side``
    lab: np.ndarray  # (h, w, 3) uint8, CIELAB of ``grey``'s pixels (a*, b*: chroma)

    @cached_property
    def words(self) -> np.ndarray:
        """The descriptors as 64-bit words (n, 4), for :func:`kernels.ratio_matches`."""
        return np.ascontiguousarray(self.descriptors).view(np.uint64)

    @cached_property
    def colour(self) -> np.ndarray:
        """The image in grey and chroma (h, w, 3), made at its first pair that reaches
        the warp and kept for the others (a copy of :attr:`lab` with grey for L*: numpy
        interleaves separate channels ten times slower)."""
        colour = self.lab.copy()
        colour[..., 0] = self.grey
        return colour

    @cached_property
    def rgb(self) -> np.ndarray:
        """:attr:`lab` in RGB (the channels a brightness or contrast edit maps one by one)."""
        import cv2

        return cv2.cvtColor(self.lab, cv2.COLOR_LAB2RGB)

    @cached_property
    def edges(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:func:`_edges` of :attr:`colour`: the same for each of its pairs as ``a``."""
        return _edges(self.colour)


def keypoints(grey: np.ndarray, lab: np.ndarray, max_features: int) -> Keypoints:
    """ORB features of a grey image (the caller scales it: longer side ``feature_side``);
    ``lab`` (CIELAB) is kept for the comparison of colour edges after the warp."""
    import cv2

    # A low FAST threshold: product photos are smooth, the default finds few corners.
    orb = cv2.ORB.create(
        nfeatures=max_features, fastThreshold=8, edgeThreshold=EDGE_PX, patchSize=EDGE_PX
    )
    found, descriptors = orb.detectAndCompute(grey, None)
    if descriptors is None:
        empty = np.empty((0, 2), np.float32)
        return Keypoints(empty, np.empty((0, 32), np.uint8), grey, lab)
    points = np.array([k.pt for k in found], np.float32)
    return Keypoints(points, descriptors, grey, lab)


def match(
    a: Keypoints,
    b: Keypoints,
    min_inliers: int,
    min_inlier_ratio: float,
    *,
    recolour_if: Callable[[dict[str, float]], Any] | None = None,
) -> dict[str, float]:
    """The scores of module docstring for one pair, as far as a decision needs them.

    Fewer than ``min_inliers`` matches cannot give that many inliers: RANSAC is skipped;
    a fit of fewer inliers, or of a lower inlier ratio, is no copy: the warp is skipped
    (:data:`NO_MATCH` stands for what was not computed); so is a fit no edit of a photo
    gives (:func:`_plausible`). ``recolour_if``, given the warped edges' scores, says
    whether ``recoloured`` is needed (else NaN: the pair fails on its edges already);
    ``None``: always.
    """
    import cv2

    if len(a.points) < 4 or len(b.points) < 4:
        return dict(NO_MATCH)
    from dataset.dedup.kernels import ratio_matches

    # The distinctive matches are those of the looser test that pass the strict one.
    query, train, distinctive = ratio_matches(a.words, b.words, FIT_RATIO, RATIO)
    matches = int(distinctive.sum())
    if matches < max(4, min_inliers):
        return {**NO_MATCH, "matches": float(matches)}
    source, target = a.points[query], b.points[train]
    # A similarity (scale, rotation, shift): what crops, resizes, shifts and rotations
    # of a photo do. A homography's extra freedom lets RANSAC slide along the stripes of
    # a twill or a plaid and fit a sheared, wrong warp with as many inliers.
    similarity, mask = cv2.estimateAffinePartial2D(
        target, source, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PX,
        maxIters=RANSAC_ITERATIONS, confidence=0.995, refineIters=10,
    )  # fmt: skip
    if similarity is None or not _plausible(similarity):
        return {**NO_MATCH, "matches": float(matches)}
    transform = np.vstack([similarity, [0.0, 0.0, 1.0]])
    # Only the distinctive inliers say how much of the photo the fit explains: the
    # looser matches of a look-alike's shared outline would raise its ratio as well.
    inliers = int((mask.ravel().astype(bool) & distinctive).sum())
    scores = {
        "matches": float(matches),
        "inliers": float(inliers),
        "inlier_ratio": inliers / max(_matchable(a, b, transform), 1),
    }
    if inliers < min_inliers or scores["inlier_ratio"] < min_inlier_ratio:
        return {**NO_MATCH, **scores}
    return {**scores, **_warped_scores(a, b, transform, recolour_if)}


def _plausible(similarity: np.ndarray) -> bool:
    """A scale and rotation an edited copy can have: both images are seen at one size
    (longer side ``feature_side``), so a crop of up to a third or a resize leaves the scale
    near 1; a tilt is a few degrees. Few matches on a smooth photo can fit a wild warp."""
    scale = float(np.hypot(similarity[0, 0], similarity[1, 0]))
    angle = float(np.degrees(np.arctan2(similarity[1, 0], similarity[0, 0])))
    return MIN_SCALE <= scale <= 1 / MIN_SCALE and abs(angle) <= MAX_ROTATION_DEG


def _matchable(a: Keypoints, b: Keypoints, transform: np.ndarray) -> int:
    """Keypoints that could have a partner: of each image, those the transform (``b``
    onto ``a``) puts where the other image could have a keypoint; the fewer of the two.
    After a crop or a shift, the part of the photo the copy lost has keypoints that
    cannot match; counting them would make a crop look like a look-alike."""
    import cv2

    def inside(points: np.ndarray, matrix: np.ndarray, shape: tuple[int, ...]) -> int:
        if not len(points):
            return 0
        mapped = cv2.perspectiveTransform(points[None].astype(np.float64), matrix)[0]
        height, width = shape[:2]
        within = (
            (mapped[:, 0] >= EDGE_PX) & (mapped[:, 0] < width - EDGE_PX)
            & (mapped[:, 1] >= EDGE_PX) & (mapped[:, 1] < height - EDGE_PX)
        )  # fmt: skip
        return int(within.sum())

    return min(
        inside(a.points, np.linalg.inv(transform), b.grey.shape),
        inside(b.points, transform, a.grey.shape),
    )


WARPED_SCORES = ("warped_edge_ncc", "unmatched_edges", "uncovered_edges", "recoloured")


def _warped_scores(
    a: Keypoints,
    b: Keypoints,
    transform: np.ndarray,
    recolour_if: Callable[[dict[str, float]], Any] | None = None,
) -> dict[str, float]:
    """``warped_edge_ncc``, ``unmatched_edges``, ``uncovered_edges`` and (where
    ``recolour_if`` asks for it) ``recoloured`` of ``b`` warped onto ``a`` (colour
    images: grey and chroma).

    ``unmatched_edges``: the share of one image's strong edges with no edge of the same
    orientation near them in the other, the smaller of the two directions. A copy keeps
    every edge of its original (a watermark or a retouch adds edges to one side only);
    two look-alikes each have details (a word, a logo) the other lacks. The orientation
    matters: two words printed at one place put edges near each other, but the strokes
    of different letters run in different directions.

    ``uncovered_edges``: the edges that side lacks, less those within
    :data:`OVERLAY_REACH_PX` of the other side's own unmatched edges (a watermark's text
    across an outline hides a few pixels of it, all under the text).
    """
    import cv2

    height, width = a.grey.shape[:2]
    warped = cv2.warpPerspective(b.colour, transform, (width, height), flags=cv2.INTER_LINEAR)
    inside = cv2.warpPerspective(
        np.full(b.grey.shape[:2], 255, np.uint8), transform, (width, height)
    )
    overlap = cv2.erode(inside, np.ones((5, 5), np.uint8)) > 0
    if overlap.sum() < 0.25 * height * width:  # a degenerate fit: not a copy
        return {k: NO_MATCH[k] for k in WARPED_SCORES}
    from dataset.dedup.kernels import correlation, missing_edges

    (grey_a, edges_a, oriented_a), (grey_b, edges_b, oriented_b) = a.edges, _edges(warped)
    ncc = float(correlation(grey_a, grey_b, overlap))

    unmatched, lacking = [], []
    sides = ((edges_a, oriented_a, oriented_b), (edges_b, oriented_b, oriented_a))
    for magnitude, this, other in sides:
        scale = _scale(magnitude, overlap)
        total = _bin_sum(other)  # the edge magnitude, as the bins share it
        # Only the strong edges are judged, each against the other image's edges of its
        # own orientation within a pixel (which forgives the fit's error of a pixel).
        strong, missing = missing_edges(
            magnitude, this, other, overlap, np.float32(STRONG_EDGE * scale),
            np.float32(scale), np.float32(_scale(total, overlap)), np.float32(PRESENT_EDGE),
        )  # fmt: skip
        lacking.append((strong, missing))
        unmatched.append(float(missing.sum() / max(len(missing), 1)))
    # The side that lacks fewer of its edges in the other (the original, if the other is
    # a copy with an overlay): which of its missing edges no overlay of the other covers.
    side = int(unmatched[1] < unmatched[0])
    uncovered = unmatched[side]
    if uncovered > 0:  # else nothing is missing, covered or not
        (strong, missing), (other_strong, added) = lacking[side], lacking[1 - side]
        overlay = np.zeros((height, width), np.uint8)
        overlay.reshape(-1)[other_strong] = added  # the strong edges are flat indices
        reach = np.ones((2 * OVERLAY_REACH_PX + 1,) * 2, np.uint8)
        covered = cv2.dilate(overlay, reach).reshape(-1)[strong] > 0
        uncovered = float((missing & ~covered).sum() / max(len(missing), 1))
    scores = {
        "warped_edge_ncc": ncc,
        "unmatched_edges": unmatched[side],
        "uncovered_edges": uncovered,
    }
    needed = recolour_if is None or bool(recolour_if(scores))
    strong = (lacking[0][0], lacking[1][0])
    scores["recoloured"] = _recoloured(a, b, transform, overlap, strong) if needed else np.nan
    return scores


def _recoloured(
    a: Keypoints,
    b: Keypoints,
    transform: np.ndarray,
    overlap: np.ndarray,
    strong: tuple[np.ndarray, np.ndarray],
) -> float:
    """The largest region (a share of ``overlap``) where ``b`` warped onto ``a`` differs
    in colour by more than :data:`RECOLOUR_LEVEL` and whose border runs, for at least
    :data:`SHARED_BORDER` of it, within a pixel of strong edges of both images
    (``strong``: flat indices of each image's strong edges on ``a``'s grid).

    Two look-alikes share the outline of a button or a logo drawn in two colours: the
    edge checks find every edge in both, but the pixels inside differ. An edit that
    changes colours locally draws the border of its change itself (a retouched patch, a
    watermark's letters), an edge one photo has and the other lacks. Regions thinner than
    3 pixels are not counted: a shift or a re-encode smears the colour of thin details.
    """
    import cv2

    from dataset.dedup.kernels import recoloured_pixels

    height, width = a.grey.shape[:2]
    rgb = cv2.warpPerspective(b.rgb, transform, (width, height), flags=cv2.INTER_LINEAR)
    differs = recoloured_pixels(a.rgb, rgb, overlap, np.float32(RECOLOUR_LEVEL))
    if not differs.any():
        return 0.0
    square = np.ones((3, 3), np.uint8)
    solid = cv2.morphologyEx(differs.astype(np.uint8), cv2.MORPH_OPEN, square)
    count, labels, stats, _centres = cv2.connectedComponentsWithStats(solid, connectivity=8)
    if count < 2:
        return 0.0
    shared = np.ones(height * width, np.uint8)
    for indices in strong:
        edges = np.zeros(height * width, np.uint8)
        edges[indices] = 1
        shared &= cv2.dilate(edges.reshape(height, width), square).reshape(-1)
    shared_map = shared.reshape(height, width).astype(bool)
    largest = 0
    for region in range(1, count):
        inside = (labels == region).astype(np.uint8)
        border = (cv2.dilate(inside, square) > 0) & (inside == 0)
        if shared_map[border].mean() >= SHARED_BORDER:
            largest = max(largest, int(stats[region, cv2.CC_STAT_AREA]))
    return largest / max(int(overlap.sum()), 1)


def _scale(values: np.ndarray, mask: np.ndarray) -> float:
    """``np.percentile(values[mask], EDGE_PERCENTILE)``, the same number (numpy's rank and
    its interpolation in the values' float32), at least 1e-3: the values at the rank
    below and above, from two passes over the masked values in place
    (:func:`kernels.upper_order_statistics`), where numpy copies them and partitions
    them at four ranks."""
    from dataset.dedup.kernels import upper_order_statistics

    count = int(np.count_nonzero(mask))
    share = EDGE_PERCENTILE / 100
    rank = count * share + (1 - share) - 1
    low = min(max(int(np.floor(rank)), 0), count - 1)
    weight = rank - low
    below, above = upper_order_statistics(values.ravel(), mask.ravel(), low)
    gap = above - below
    value = above - gap * (1 - weight) if weight >= 0.5 else below + gap * weight
    return max(float(value), 1e-3)


def _bin_sum(oriented: np.ndarray) -> np.ndarray:
    """``oriented.sum(axis=-1)``, the same float32 sums in the same order, without numpy's
    slow reduction over a short last axis."""
    total = oriented[..., 0] + oriented[..., 1]
    for bin_ in range(2, oriented.shape[-1]):
        total += oriented[..., bin_]
    return total


ORIENTATIONS = 4  # bins of edge orientation, 45 degrees apart (see _edges)


def _edges(image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradient magnitudes of ``image`` (h, w, c), lightly blurred: of its first channel
    (grey), of all channels, and the latter split into :data:`ORIENTATIONS` bins (h, w,
    bins), each pixel's magnitude shared among the bins near its orientation (that of the
    channels together)."""
    import cv2

    from dataset.dedup.kernels import orientation_bins

    pixels = image.astype(np.float32)
    gx = cv2.Sobel(pixels, cv2.CV_32F, 1, 0, ksize=3)  # each channel's, as if split
    gy = cv2.Sobel(pixels, cv2.CV_32F, 0, 1, ksize=3)
    # Colour edges: the orientation of the channels' summed structure, as a doubled angle
    # (so a dark-to-light and a light-to-dark edge of one line agree); bins at doubled
    # angles 0, 90, 180 and 270 degrees, each pixel's magnitude shared by the weights
    # cos(angle - centre)^2 where positive (kernels.orientation_bins).
    magnitude, oriented = orientation_bins(gx, gy)
    grey = cv2.magnitude(np.ascontiguousarray(gx[..., 0]), np.ascontiguousarray(gy[..., 0]))
    blur = (5, 5)
    return (
        cv2.GaussianBlur(grey, blur, 0),
        cv2.GaussianBlur(magnitude, blur, 0),
        cv2.GaussianBlur(oriented, blur, 0),
    )

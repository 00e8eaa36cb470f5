"""The compiled loops of stage 2's scores (:mod:`dataset.dedup.geometry`): the same
numbers as the OpenCV and numpy calls they replace (the correlation: to float32
rounding), without their per-call overheads.

Imported by the scores when they run, not before (:mod:`dataset.dedup.jit`).
"""

from __future__ import annotations

import numpy as np

from dataset.dedup.jit import compiled, popcount


def _ratio_matches(
    query: np.ndarray, train: np.ndarray, ratio: float, strict_ratio: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lowe's ratio test on ORB descriptors (rows of uint64 words): the indices of the
    queries whose nearest train descriptor (Hamming distance) is nearer than ``ratio``
    times the second nearest, and that nearest; what a brute-force 2-NN match
    (``cv2.BFMatcher(NORM_HAMMING).knnMatch(k=2)``) and the test give, in query order (a
    tie for the nearest never passes, so the nearest is unique). Third: whether each
    match also passes the test at ``strict_ratio`` (<= ``ratio``: the matches of that
    test, from the same distances)."""
    kept_query = np.empty(len(query), np.int64)
    kept_train = np.empty(len(query), np.int64)
    strict = np.zeros(len(query), np.bool_)
    kept = 0
    if len(train) < 2:
        return kept_query[:0], kept_train[:0], strict[:0]
    # Each query's distances to all train descriptors, word by word over a transposed
    # copy, then their minimum, its first place and the least of the others: loops over
    # contiguous values that compile to vector instructions.
    words, count = train.shape[1], len(train)
    planes = np.ascontiguousarray(train.T)
    distance = np.empty(count, np.int64)
    far = 1 << 30
    for i in range(len(query)):
        distance[:] = 0
        for word in range(words):
            bits = query[i, word]
            for j in range(count):
                distance[j] += popcount(bits ^ planes[word, j])
        best = far
        for j in range(count):
            best = min(best, distance[j])
        nearest = 0
        while distance[nearest] != best:
            nearest += 1
        second = far
        for j in range(count):
            second = min(second, distance[j] if j != nearest else far)
        if best < ratio * second:
            kept_query[kept], kept_train[kept] = i, nearest
            strict[kept] = best < strict_ratio * second
            kept += 1
    return kept_query[:kept], kept_train[:kept], strict[:kept]


BUCKET_SHIFT = 21  # buckets of the order statistics: the top 11 bits of a float32's key


def _upper_order_statistics(values: np.ndarray, mask: np.ndarray, rank: int) -> np.ndarray:
    """The ``rank``-th and ``rank + 1``-th smallest of ``values[mask]`` (float32; 0-based;
    the latter is the former where there is none), as ``np.partition`` would place them.

    No copy of the masked values: each value's bucket (the top bits of its float's bits,
    mapped to an unsigned key that sorts as the floats do: sign, exponent and two bits of
    mantissa; the masked out ones in a bucket past the last) is written once, counted in
    four histograms in turn (consecutive values often share a bucket: one histogram
    would wait on its own last count), and the bucket where the rank falls is sorted (a
    few hundred values at a high percentile) to find it and the least value above it.
    """
    keys = values.view(np.uint32)
    outside = 1 << (32 - BUCKET_SHIFT)
    buckets = np.empty(len(values), np.uint16)
    for k in range(len(values)):
        key = keys[k]
        key = key | np.uint32(0x80000000) if key >> 31 == 0 else ~key
        buckets[k] = key >> BUCKET_SHIFT if mask[k] else outside
    counts = np.zeros((4, outside + 1), np.int64)
    whole = len(values) - len(values) % 4
    for k in range(0, whole, 4):
        counts[0, buckets[k]] += 1
        counts[1, buckets[k + 1]] += 1
        counts[2, buckets[k + 2]] += 1
        counts[3, buckets[k + 3]] += 1
    for k in range(whole, len(values)):
        counts[0, buckets[k]] += 1
    bucket, before = 0, 0
    while True:
        here = counts[0, bucket] + counts[1, bucket] + counts[2, bucket] + counts[3, bucket]
        if before + here > rank:
            break
        before += here
        bucket += 1
    inside = np.empty(here, values.dtype)
    filled = 0
    above = np.inf
    for k in range(len(values)):
        place = buckets[k]
        if place == bucket:
            inside[filled] = values[k]
            filled += 1
        elif bucket < place < outside and values[k] < above:
            above = values[k]
    inside.sort()
    out = np.empty(2, values.dtype)
    out[0] = inside[rank - before]
    if rank - before + 1 < len(inside):
        out[1] = inside[rank - before + 1]
    else:
        out[1] = above if above < np.inf else out[0]
    return out


def _missing_edges(
    magnitude: np.ndarray,
    this: np.ndarray,
    other: np.ndarray,
    overlap: np.ndarray,
    strong_above: np.float32,
    this_scale: np.float32,
    other_scale: np.float32,
    present: np.float32,
) -> tuple[np.ndarray, np.ndarray]:
    """The strong edges of one image (flat indices of ``magnitude > strong_above`` inside
    ``overlap``) and which of them the other image lacks: at each, the bin of ``this``
    (h, w, bins) where it is largest (the first of equal ones) over ``this_scale``,
    against the other's largest value of that bin within one pixel (what ``cv2.dilate``
    with a 3x3 kernel gives there) over ``other_scale``: lacking below ``present`` times
    it. The float32 operations of the numpy expressions they replace, on the strong
    pixels alone (the dilation of every pixel of every bin was most of the cost)."""
    height, width, bins = this.shape
    flat_magnitude, flat_overlap = magnitude.ravel(), overlap.ravel()
    strong = np.empty(height * width, np.int64)
    count = 0
    for k in range(height * width):
        if flat_overlap[k] and flat_magnitude[k] > strong_above:
            strong[count] = k
            count += 1
    missing = np.empty(count, np.bool_)
    for n in range(count):
        y, x = divmod(strong[n], width)
        own, mine = 0, this[y, x, 0] / this_scale
        for bin_ in range(1, bins):
            value = this[y, x, bin_] / this_scale
            if value > mine:
                own, mine = bin_, value
        nearby = other[y, x, own]
        for yy in range(max(y - 1, 0), min(y + 2, height)):
            for xx in range(max(x - 1, 0), min(x + 2, width)):
                nearby = max(nearby, other[yy, xx, own])
        missing[n] = nearby / other_scale < present * mine
    return strong[:count], missing


def _orientation_bins(gx: np.ndarray, gy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The gradient magnitude of all channels of (h, w, c) derivatives and its share in
    each of 4 orientation bins (h, w, 4), as :func:`dataset.dedup.geometry._edges` defines
    them: the same float32 operations in the same order as its numpy expressions, in one
    pass without their ten temporary images. A row at a time, each step over the row's
    pixels (the channels' sums, then the square roots and divisions): loops the compiler
    turns into vector instructions (half the time of a pixel at a time)."""
    height, width, channels = gx.shape
    magnitude = np.empty((height, width), np.float32)
    oriented = np.empty((height, width, 4), np.float32)
    two, zero, least = np.float32(2), np.float32(0), np.float32(1e-6)
    along, across, energy = (
        np.empty(width, np.float32),
        np.empty(width, np.float32),
        np.empty(width, np.float32),
    )
    for y in range(height):
        along[:] = zero
        across[:] = zero
        energy[:] = zero
        for c in range(channels):
            for x in range(width):
                dx, dy = gx[y, x, c], gy[y, x, c]
                along[x] += dx * dx - dy * dy
                across[x] += two * dx * dy
                energy[x] += dx * dx + dy * dy
        for x in range(width):
            size = np.sqrt(energy[x])
            hypotenuse = np.sqrt(along[x] * along[x] + across[x] * across[x])
            norm = hypotenuse if hypotenuse > least else least
            cos, sin = along[x] / norm, across[x] / norm
            magnitude[y, x] = size
            # max(value, 0) of cos, sin, -cos, -sin: a -0.0 squares to 0.0 either way.
            weight = cos if cos > zero else zero
            oriented[y, x, 0] = size * (weight * weight)
            weight = sin if sin > zero else zero
            oriented[y, x, 1] = size * (weight * weight)
            weight = -cos if -cos > zero else zero
            oriented[y, x, 2] = size * (weight * weight)
            weight = -sin if -sin > zero else zero
            oriented[y, x, 3] = size * (weight * weight)
    return magnitude, oriented


def _correlation(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    """The Pearson correlation of ``a[mask]`` and ``b[mask]`` (2-D float32 arrays of one
    shape, views of any strides; ``mask`` bool), 0.0 where either is flat, without the
    copies and temporary arrays of numpy's expression of it (centre, multiply, sum).
    Sums in float64: they differ from numpy's float32 sums in the sixth digit at most."""
    height, width = a.shape
    total_a, total_b, count = 0.0, 0.0, 0
    for y in range(height):
        for x in range(width):
            if mask[y, x]:
                total_a += a[y, x]
                total_b += b[y, x]
                count += 1
    mean_a, mean_b = total_a / max(count, 1), total_b / max(count, 1)
    products, squares_a, squares_b = 0.0, 0.0, 0.0
    for y in range(height):
        for x in range(width):
            if mask[y, x]:
                centred_a, centred_b = a[y, x] - mean_a, b[y, x] - mean_b
                products += centred_a * centred_b
                squares_a += centred_a * centred_a
                squares_b += centred_b * centred_b
    denominator = np.sqrt(squares_a * squares_b)
    return products / denominator if denominator > 1e-6 else 0.0


def _largest_difference(
    a: np.ndarray, b: np.ndarray, gain: np.ndarray, offset: np.ndarray, at: int, other: int
) -> np.float32:
    """The largest difference over the 3 channels of pixel ``at`` of ``a`` and pixel
    ``other`` of ``b`` mapped by ``gain`` and ``offset`` (flat pixel indices; float32)."""
    red = abs(np.float32(a[at, 0]) - (gain[0] * np.float32(b[other, 0]) + offset[0]))
    green = abs(np.float32(a[at, 1]) - (gain[1] * np.float32(b[other, 1]) + offset[1]))
    blue = abs(np.float32(a[at, 2]) - (gain[2] * np.float32(b[other, 2]) + offset[2]))
    return max(red, max(green, blue))


(largest_difference,) = compiled(_largest_difference)  # called by the loop below


def _recoloured_pixels(
    a: np.ndarray, b: np.ndarray, overlap: np.ndarray, level: np.float32
) -> np.ndarray:
    """Where two aligned RGB images (h, w, 3 uint8) differ in colour: the pixels of
    ``overlap`` at which every pixel of ``b`` within one pixel differs from ``a`` by more
    than ``level`` in some channel, once each channel of ``b`` is mapped onto ``a``'s by
    the gain and offset that fit it best (least squares, on the overlap's pixels of even
    row and column: the same fit for a quarter of the sums; a contrast or brightness edit
    is such a map, per channel). The neighbours forgive the warp's error of a pixel; most
    pixels are settled by their own pixel of ``b``."""
    height, width = overlap.shape
    flat_a = a.reshape(height * width, 3)
    flat_b = b.reshape(height * width, 3)
    inside = overlap.ravel()
    gain, offset = np.ones(3, np.float32), np.zeros(3, np.float32)
    for c in range(3):
        count, sum_a, sum_b, squares, products = 0.0, 0.0, 0.0, 0.0, 0.0
        for y in range(0, height, 2):
            for k in range(y * width, (y + 1) * width, 2):
                if inside[k]:
                    value_a, value_b = float(flat_a[k, c]), float(flat_b[k, c])
                    count += 1.0
                    sum_a += value_a
                    sum_b += value_b
                    squares += value_b * value_b
                    products += value_b * value_a
        spread = count * squares - sum_b * sum_b
        if count > 0 and spread > 1e-6:
            slope = (count * products - sum_b * sum_a) / spread
            gain[c], offset[c] = slope, (sum_a - slope * sum_b) / count
    differs = np.zeros(height * width, np.bool_)
    gain_r, gain_g, gain_b = gain[0], gain[1], gain[2]
    offset_r, offset_g, offset_b = offset[0], offset[1], offset[2]
    for k in range(height * width):
        # Its own pixel first, the channels written out (a third faster than a call of
        # largest_difference): most pixels end here.
        red = abs(np.float32(flat_a[k, 0]) - (gain_r * np.float32(flat_b[k, 0]) + offset_r))
        green = abs(np.float32(flat_a[k, 1]) - (gain_g * np.float32(flat_b[k, 1]) + offset_g))
        blue = abs(np.float32(flat_a[k, 2]) - (gain_b * np.float32(flat_b[k, 2]) + offset_b))
        if not inside[k] or max(red, max(green, blue)) <= level:
            continue
        y, x = divmod(k, width)
        least = np.float32(np.inf)
        for yy in range(max(y - 1, 0), min(y + 2, height)):
            for xx in range(max(x - 1, 0), min(x + 2, width)):
                other = yy * width + xx
                least = min(least, largest_difference(flat_a, flat_b, gain, offset, k, other))
        differs[k] = least > level
    return differs.reshape(height, width)


(
    ratio_matches,
    upper_order_statistics,
    missing_edges,
    orientation_bins,
    correlation,
    recoloured_pixels,
) = compiled(
    _ratio_matches,
    _upper_order_statistics,
    _missing_edges,
    _orientation_bins,
    _correlation,
    _recoloured_pixels,
)

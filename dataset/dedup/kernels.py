"""The compiled loops of stage 2's scores (:mod:`dataset.dedup.geometry`): the same
numbers as the OpenCV and numpy calls they replace, without their per-call overheads.

Imported by the scores when they run, not before (:mod:`dataset.dedup.jit`).
"""

from __future__ import annotations

import numpy as np

from dataset.dedup.jit import compiled, popcount


def _ratio_matches(
    query: np.ndarray, train: np.ndarray, ratio: float
) -> tuple[np.ndarray, np.ndarray]:
    """Lowe's ratio test on ORB descriptors (rows of uint64 words): the indices of the
    queries whose nearest train descriptor (Hamming distance) is nearer than ``ratio``
    times the second nearest, and that nearest; what a brute-force 2-NN match
    (``cv2.BFMatcher(NORM_HAMMING).knnMatch(k=2)``) and the test give, in query order (a
    tie for the nearest never passes, so the nearest is unique)."""
    kept_query = np.empty(len(query), np.int64)
    kept_train = np.empty(len(query), np.int64)
    kept = 0
    if len(train) < 2:
        return kept_query[:0], kept_train[:0]
    for i in range(len(query)):
        best, second, nearest = 1 << 30, 1 << 30, -1
        for j in range(len(train)):
            d = 0
            for word in range(query.shape[1]):
                d += popcount(query[i, word] ^ train[j, word])
            if d < best:
                best, second, nearest = d, best, j
            elif d < second:
                second = d
        if best < ratio * second:
            kept_query[kept], kept_train[kept] = i, nearest
            kept += 1
    return kept_query[:kept], kept_train[:kept]


def _upper_order_statistics(values: np.ndarray, mask: np.ndarray, rank: int) -> np.ndarray:
    """The ``rank``-th and ``rank + 1``-th smallest of ``values[mask]`` (0-based; the
    latter is the former where there is none), as ``np.partition`` would place them:
    one pass keeping the ``count - rank`` largest in a min-heap, where the rank is near the
    top (a high percentile)."""
    count = 0
    for k in range(len(values)):
        count += mask[k]
    size = count - rank
    heap = np.empty(max(size, 1), values.dtype)
    filled = 0
    for k in range(len(values)):
        if not mask[k]:
            continue
        value = values[k]
        if filled < size:  # sift up
            place = filled
            filled += 1
            while place > 0 and heap[(place - 1) // 2] > value:
                heap[place] = heap[(place - 1) // 2]
                place = (place - 1) // 2
            heap[place] = value
        elif value > heap[0]:  # replace the least, sift down
            place = 0
            while True:
                child = 2 * place + 1
                if child >= size:
                    break
                if child + 1 < size and heap[child + 1] < heap[child]:
                    child += 1
                if heap[child] >= value:
                    break
                heap[place] = heap[child]
                place = child
            heap[place] = value
    out = np.empty(2, values.dtype)
    out[0] = heap[0]
    out[1] = heap[0] if size < 2 else min(heap[1], heap[2]) if size > 2 else heap[1]
    return out


ratio_matches, upper_order_statistics = compiled(_ratio_matches, _upper_order_statistics)

"""Stage 1b: all pairs of 64-bit hashes within a Hamming radius, without N^2 comparisons.

Multi-index hashing (Norouzi et al.): split each hash into ``m`` chunks. Two hashes
within distance ``r`` differ by at most ``floor(r / m)`` bits in at least one chunk
(pigeonhole). So for every chunk and every bit mask ``f`` of at most ``floor(r / m)``
bits, the items whose chunk equals ``chunk ^ f`` are candidates; a popcount of the
full hashes keeps the true ones. With chunks of about ``log2(N)`` bits a bucket holds
about one item, so the work grows with ``N x masks``, not ``N^2``. Everything is
vectorised with numpy (a bucket table per chunk, ``np.repeat`` to expand buckets,
``np.bitwise_count``); the masks are shared out among processes.

>>> import numpy as np
>>> h = np.array([0b1011, 0b1001, 0xFFFF], dtype=np.uint64)
>>> near_pairs(h, radius=1)
(array([0]), array([1]), array([1], dtype=uint8))
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np

BITS = 64
MAX_CHUNK_BITS = 24  # bucket tables of 2^24 entries (64 MiB of int32 each) at most


def _chunk_layout(n_items: int, radius: int) -> list[tuple[int, int]]:
    """``(shift, width)`` of each chunk, choosing the count ``m`` of least estimated work."""
    best: tuple[float, int] | None = None
    smallest = math.ceil(BITS / MAX_CHUNK_BITS)
    for m in range(smallest, max(smallest, radius + 1) + 1):
        width = BITS // m
        sub = radius // m
        masks = sum(math.comb(width, k) for k in range(sub + 1))
        # Each mask costs a pass over the items plus the candidates it yields.
        cost = m * masks * (1.0 + n_items / 2.0**width)
        if best is None or cost < best[0]:
            best = (cost, m)
    assert best is not None
    m = best[1]
    widths = [BITS // m + (1 if i < BITS % m else 0) for i in range(m)]
    shifts = [sum(widths[i + 1 :]) for i in range(m)]
    return list(zip(shifts, widths, strict=True))


def _masks(width: int, bits: int) -> list[int]:
    out = [0]
    for k in range(1, bits + 1):
        out.extend(sum(1 << b for b in combo) for combo in itertools.combinations(range(width), k))
    return out


_SHARED: dict[str, np.ndarray] = {}


def _init(hashes: np.ndarray) -> None:
    _SHARED["hashes"] = hashes


def _pairs_for_masks(
    args: tuple[int, int, Sequence[int], int],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Verified pairs ``i < j`` found through chunk ``(shift, width)`` and these masks."""
    shift, width, masks, radius = args
    hashes = _SHARED["hashes"]
    chunk = ((hashes >> np.uint64(shift)) & np.uint64((1 << width) - 1)).astype(np.int32)
    # int32 everywhere: the random gathers below are memory-bound, half the bytes helps.
    order = np.argsort(chunk, kind="stable").astype(np.int32)
    counts = np.bincount(chunk, minlength=1 << width).astype(np.int32)
    starts = (np.cumsum(counts, dtype=np.int64) - counts).astype(np.int32)
    found_i, found_j, found_d = [], [], []
    half: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for mask in masks:
        if mask == 0:
            ids = np.arange(len(chunk), dtype=np.int32)
            source = chunk
        else:
            # Of the two ends of a pair differing by ``mask`` exactly one has the mask's
            # top bit clear: looking up from those alone finds each pair once.
            top = 1 << (mask.bit_length() - 1)
            if top not in half:
                ids = np.flatnonzero((chunk & top) == 0).astype(np.int32)
                half[top] = (ids, chunk[ids])
            ids, source = half[top]
        target = source ^ mask
        n = counts[target]
        nonempty = np.flatnonzero(n)
        n = n[nonempty]
        left = np.repeat(ids[nonempty], n)
        if not len(left):
            continue
        # Position inside each bucket: a running index reset at each bucket start.
        offset = np.arange(len(left), dtype=np.int32) - np.repeat(np.cumsum(n) - n, n)
        right = order[np.repeat(starts[target[nonempty]], n) + offset]
        if mask == 0:
            keep = left < right
            left, right = left[keep], right[keep]
        dist = np.bitwise_count(hashes[left] ^ hashes[right])
        close = dist <= radius
        left, right = left[close], right[close]
        found_i.append(np.minimum(left, right))
        found_j.append(np.maximum(left, right))
        found_d.append(dist[close])
    if not found_i:
        empty = np.empty(0, np.int64)
        return empty, empty, np.empty(0, np.uint8)
    return np.concatenate(found_i), np.concatenate(found_j), np.concatenate(found_d)


def near_pairs(
    hashes: np.ndarray, radius: int, *, workers: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index pairs ``(i, j)``, ``i < j``, with ``popcount(h[i] ^ h[j]) <= radius``, and the
    distances; each pair once, sorted by ``(i, j)``."""
    hashes = np.ascontiguousarray(hashes, dtype=np.uint64)
    if len(hashes) < 2:
        empty = np.empty(0, np.int64)
        return empty, empty, np.empty(0, np.uint8)
    tasks = []
    layout = _chunk_layout(len(hashes), radius)
    for shift, width in layout:
        masks = _masks(width, radius // len(layout))
        # A few tasks per worker per chunk keep both cores busy to the end.
        step = max(1, math.ceil(len(masks) / (4 * workers)))
        for start in range(0, len(masks), step):
            tasks.append((shift, width, masks[start : start + step], radius))
    if workers <= 1:
        _init(hashes)
        results = [_pairs_for_masks(task) for task in tasks]
    else:
        import multiprocessing

        context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
        with ProcessPoolExecutor(
            workers, mp_context=context, initializer=_init, initargs=(hashes,)
        ) as pool:
            results = list(pool.map(_pairs_for_masks, tasks))
    left = np.concatenate([r[0] for r in results])
    right = np.concatenate([r[1] for r in results])
    dist = np.concatenate([r[2] for r in results])
    # A pair close in several chunks is found several times.
    key = left.astype(np.int64) * len(hashes) + right.astype(np.int64)
    key, first = np.unique(key, return_index=True)
    return key // len(hashes), key % len(hashes), dist[first].astype(np.uint8)


def brute_force_pairs(hashes: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The same answer by comparing every pair (row blocks); for tests and benchmarks."""
    hashes = np.asarray(hashes, dtype=np.uint64)
    lefts, rights, dists = [], [], []
    for start in range(0, len(hashes), 512):
        block = hashes[start : start + 512]
        dist = np.bitwise_count(block[:, None] ^ hashes[None, :])
        i, j = np.nonzero(dist <= radius)
        i = i + start
        keep = i < j
        lefts.append(i[keep])
        rights.append(j[keep])
        dists.append(dist[i[keep] - start, j[keep]])
    if not lefts:
        empty = np.empty(0, np.int64)
        return empty, empty, np.empty(0, np.uint8)
    return (
        np.concatenate(lefts).astype(np.int64),
        np.concatenate(rights).astype(np.int64),
        np.concatenate(dists).astype(np.uint8),
    )

"""Stage 1b: all pairs of 64-bit hashes within a Hamming radius, without N^2 comparisons.

Multi-index hashing (Norouzi et al.): split each hash into ``m`` chunks. Two hashes
within distance ``r`` differ by ``d_1 + ... + d_m <= r`` bits, so for any budgets
``t_i`` with ``sum(t_i + 1) = r + 1`` at least one chunk has ``d_i <= t_i`` (pigeonhole;
``t_i = -1``: that chunk is not searched). So for every chunk and every bit mask ``f``
of at most ``t_i`` bits, the items whose chunk equals ``chunk ^ f`` are candidates; a
popcount of the full hashes keeps the true ones. With chunks of about ``log2(N)`` bits a
bucket holds about one item, so the work grows with ``N x masks``, not ``N^2``; uneven
budgets (3, 3, 2 at radius 10 rather than 3, 3, 3) drop the masks of the last chunk's
third bit, a third of the work. Everything is vectorised with numpy over the items sorted
by chunk: ``chunk ^ f`` of sorted chunks runs in sorted stretches, so the bucket tables
and the hashes are read nearly in order. The masks are shared out among processes.

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
from dataclasses import dataclass

import numpy as np

BITS = 64
MAX_CHUNK_BITS = 24  # bucket tables of 2^24 entries (64 MiB of int32 each) at most


@dataclass(frozen=True)
class Chunk:
    shift: int  # the chunk is ``(hash >> shift) & (2^width - 1)``
    width: int
    budget: int  # masks of up to this many bits are searched


def _chunk_layout(n_items: int, radius: int) -> list[Chunk]:
    """The chunks and their budgets, choosing the count ``m`` of least estimated work."""
    best: tuple[float, list[Chunk]] | None = None
    smallest = math.ceil(BITS / MAX_CHUNK_BITS)
    for m in range(smallest, max(smallest, radius + 1) + 1):
        widths = [BITS // m + (1 if i < BITS % m else 0) for i in range(m)]
        shifts = [sum(widths[i + 1 :]) for i in range(m)]
        # ``radius + 1`` units of budget, the wider chunks (sparser buckets) first.
        budgets = [(radius + 1) // m + (1 if i < (radius + 1) % m else 0) - 1 for i in range(m)]
        chunks = [Chunk(*c) for c in zip(shifts, widths, budgets, strict=True) if c[2] >= 0]
        # Each mask costs a pass over the items plus the candidates it yields.
        cost = sum(
            sum(math.comb(c.width, k) for k in range(c.budget + 1)) * (1.0 + n_items / 2.0**c.width)
            for c in chunks
        )
        if best is None or cost < best[0]:
            best = (cost, chunks)
    assert best is not None
    return best[1]


def _masks(width: int, bits: int) -> list[int]:
    out = [0]
    for k in range(1, bits + 1):
        out.extend(sum(1 << b for b in combo) for combo in itertools.combinations(range(width), k))
    return out


@dataclass(frozen=True)
class _Table:
    """The items sorted by one chunk, and that chunk's bucket table."""

    order: np.ndarray  # item of each sorted position (int32)
    chunks: np.ndarray  # chunk value of each sorted position (int32)
    hashes: np.ndarray  # full hash of each sorted position (uint64)
    counts: np.ndarray  # items per chunk value (int32, 2^width)
    starts: np.ndarray  # first sorted position of each chunk value (int32)


def _table(hashes: np.ndarray, chunk: Chunk) -> _Table:
    values = ((hashes >> np.uint64(chunk.shift)) & np.uint64((1 << chunk.width) - 1)).astype(
        np.int32
    )
    # int32 everywhere: the gathers below are memory-bound, half the bytes helps.
    order = np.argsort(values, kind="stable").astype(np.int32)
    counts = np.bincount(values, minlength=1 << chunk.width).astype(np.int32)
    starts = (np.cumsum(counts, dtype=np.int64) - counts).astype(np.int32)
    return _Table(order, values[order], hashes[order], counts, starts)


# The tables, set before the pool starts (inherited by forked workers, not pickled per task).
_SHARED: dict[int, _Table] = {}


def _init(tables: dict[int, _Table]) -> None:
    _SHARED.update(tables)


def _pairs_for_masks(
    args: tuple[int, Sequence[int], int],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Verified pairs ``i < j`` found through one chunk's table and these masks."""
    shift, masks, radius = args
    table = _SHARED[shift]
    found_i, found_j, found_d = [], [], []
    half: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for mask in masks:
        if mask == 0:
            positions, source = np.arange(len(table.chunks), dtype=np.int32), table.chunks
        else:
            # Of the two ends of a pair differing by ``mask`` exactly one has the mask's
            # top bit clear: looking up from those alone finds each pair once.
            top = 1 << (mask.bit_length() - 1)
            if top not in half:
                kept = np.flatnonzero((table.chunks & top) == 0).astype(np.int32)
                half[top] = (kept, table.chunks[kept])
            positions, source = half[top]
        target = source ^ np.int32(mask)
        sizes = table.counts[target]
        nonempty = np.flatnonzero(sizes)
        sizes, positions, first = (
            sizes[nonempty],
            positions[nonempty],
            table.starts[target[nonempty]],
        )
        # Most buckets hold one item or none: step through the k-th item of every bucket.
        k = 0
        while len(positions):
            left, right = positions, first + k
            if mask == 0:  # the same bucket: each pair once
                left, right = left[right > left], right[right > left]
            dist = np.bitwise_count(table.hashes[left] ^ table.hashes[right])
            close = np.flatnonzero(dist <= radius)
            if len(close):
                a, b = table.order[left[close]], table.order[right[close]]
                found_i.append(np.minimum(a, b))
                found_j.append(np.maximum(a, b))
                found_d.append(dist[close])
            k += 1
            more = np.flatnonzero(sizes > k)
            sizes, positions, first = sizes[more], positions[more], first[more]
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
    chunks = _chunk_layout(len(hashes), radius)
    tables = {chunk.shift: _table(hashes, chunk) for chunk in chunks}
    tasks = []
    for chunk in chunks:
        masks = _masks(chunk.width, chunk.budget)
        # A few tasks per worker per chunk keep both cores busy to the end.
        step = max(1, math.ceil(len(masks) / (4 * workers)))
        for start in range(0, len(masks), step):
            tasks.append((chunk.shift, masks[start : start + step], radius))
    if workers <= 1:
        _init(tables)
        results = [_pairs_for_masks(task) for task in tasks]
        _SHARED.clear()
    else:
        import multiprocessing

        context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
        with ProcessPoolExecutor(
            workers, mp_context=context, initializer=_init, initargs=(tables,)
        ) as pool:
            results = list(pool.map(_pairs_for_masks, tasks))
    left = np.concatenate([r[0] for r in results]).astype(np.int64)
    right = np.concatenate([r[1] for r in results]).astype(np.int64)
    dist = np.concatenate([r[2] for r in results])
    # A pair close in several chunks is found several times.
    key = left * len(hashes) + right
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

"""Stage 1b: all pairs of 64-bit hashes within a Hamming radius, without N^2 comparisons.

Multi-index hashing (Norouzi et al.): split each hash into ``m`` chunks. Two hashes
within distance ``r`` differ by ``d_1 + ... + d_m <= r`` bits, so for any budgets
``t_i`` with ``sum(t_i + 1) = r + 1`` at least one chunk has ``d_i <= t_i`` (pigeonhole;
``t_i = -1``: that chunk is not searched). So for every chunk and every bit mask ``f``
of at most ``t_i`` bits, the items whose chunk equals ``chunk ^ f`` are candidates; a
popcount of the full hashes keeps the true ones. With chunks of about ``log2(N)`` bits a
bucket holds about one item, so the work grows with ``N x masks``, not ``N^2``; uneven
budgets (3, 3, 2 at radius 10 rather than 3, 3, 3) drop the masks of the last chunk's
third bit, a third of the work.

The probe is one compiled loop (numba, :mod:`dataset.dedup.probe`) over the items sorted
by chunk, in tiles: the items of a few thousand consecutive chunk values meet every mask
while they and the bucket table they read stay in the CPU cache (``chunk ^ f`` of one
tile's values falls in one other tile). Tiles, cut into pieces where photos crowd one,
are shared out among threads.

>>> import numpy as np
>>> h = np.array([0b1011, 0b1001, 0xFFFF], dtype=np.uint64)
>>> near_pairs(h, radius=1)
(array([0]), array([1]), array([1], dtype=uint8))
"""

from __future__ import annotations

import itertools
import math
import queue
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the probe compiles its loops on import: only when the search runs
    from dataset.dedup.probe import Nearest

BITS = 64
MAX_CHUNK_BITS = 24  # bucket tables of 2^24 entries (64 MiB of int32 each) at most
# A bucket look-up (a random read, a branch that fails to predict) costs about 7 popcounts
# of a bucket's hashes read in order (measured at 1M hashes: budgets 3,3,2 on chunks of
# 22-21 bits, 1.8e9 look-ups, against 2,2,2,1 on chunks of 16 bits, 3.3e9 popcounts).
LOOKUP_COST = 7.0
TILE_ITEMS = 4096  # items per tile: their hashes (32 KiB) stay in the L1/L2 cache
TILES_PER_THREAD = 8  # tasks per thread and chunk: an uneven tile does not idle a core
# A tile's items are probed in pieces of at most this many: at 19,799 look-alike images
# fmhash's probe took 0.81 s of wall clock on 2 threads whole, 0.54 s in pieces of
# TILE_ITEMS, 0.51 s in pieces of 1,024 or 256.
PIECE_ITEMS = 1024
BOUND_BLOCKS = 3  # the chroma grid's blocks per side whose means bound the gate's distance


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
        # Each mask costs a look-up per item plus a popcount per candidate it yields.
        cost = sum(
            sum(math.comb(c.width, k) for k in range(c.budget + 1))
            * (LOOKUP_COST + n_items / 2.0**c.width)
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

    order: np.ndarray  # item of each sorted position (int64)
    chunks: np.ndarray  # chunk value of each sorted position (int32)
    hashes: np.ndarray  # full hash of each sorted position (uint64)
    starts: np.ndarray  # first sorted position of each chunk value, and the end (int32)


def _table(hashes: np.ndarray, chunk: Chunk) -> _Table:
    values = ((hashes >> np.uint64(chunk.shift)) & np.uint64((1 << chunk.width) - 1)).astype(
        np.int32
    )
    order = np.argsort(values, kind="stable")
    counts = np.bincount(values, minlength=1 << chunk.width)
    starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    return _Table(order, values[order], hashes[order], starts)


def near_pairs(
    hashes: np.ndarray, radius: int, *, workers: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index pairs ``(i, j)``, ``i < j``, with ``popcount(h[i] ^ h[j]) <= radius``, and the
    distances; each pair once, sorted by ``(i, j)``. ``workers`` threads probe."""
    hashes = np.ascontiguousarray(hashes, dtype=np.uint64)
    if len(hashes) < 2:
        empty = np.empty(0, np.int64)
        return empty, empty, np.empty(0, np.uint8)
    no_lists = (np.empty((0, 0, 2), np.uint8), 0.0, np.empty((0, 0)),
                np.empty((0, 0), np.int64), np.empty((0, 0, 2)))  # fmt: skip
    results = _probe(hashes, radius, [no_lists] * max(1, workers))
    left = np.concatenate([r[0] for r in results])
    right = np.concatenate([r[1] for r in results])
    dist = np.concatenate([r[2] for r in results])
    return _unique_pairs(left, right, dist, len(hashes))


def nearest_pairs(
    hashes: np.ndarray,
    radius: int,
    count: int,
    grids: np.ndarray,
    max_chroma: float,
    *,
    workers: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pairs of :func:`near_pairs` whose chroma grids (``grids``: (n, cells, 2)) lie
    at most ``max_chroma`` apart, and of those, the ones among the ``count`` nearest of
    either of their items (:func:`nearest_of_either`; nearest: by hash distance, then
    chroma distance, :data:`probe.RANK_SCALE`), with their ranks; sorted by ``(i, j)``.

    The gate and the cap run inside the probe's loop: each thread keeps every item's
    ``count`` nearest partners so far, so memory grows with the items, not with the
    pairs within the radius (on look-alike photos those grow with the square of the
    set), and a pair's colours are compared only when its distance could rank and its
    grids' block means (:func:`block_means`) do not already put it above ``max_chroma``.
    """
    from dataset.dedup.probe import NO_PARTNER, NO_RANK

    hashes = np.ascontiguousarray(hashes, dtype=np.uint64)
    empty = np.empty(0, np.int64)
    if len(hashes) < 2:
        return empty, empty, np.empty(0)
    cells = np.ascontiguousarray(grids.reshape(len(hashes), -1, 2))
    blocks = block_means(cells)
    lists = [
        (cells, float(max_chroma), np.full((len(hashes), count), NO_RANK),
         np.full((len(hashes), count), NO_PARTNER, np.int64), blocks)
        for _thread in range(max(1, workers))
    ]  # fmt: skip
    _probe(hashes, radius, lists)
    lefts, rights, ranks = [empty], [empty], [np.empty(0)]
    for _cells, _gate, best_rank, best_other, _blocks in lists:
        item, place = np.nonzero(best_other != NO_PARTNER)
        other = best_other[item, place]
        lefts.append(np.minimum(item, other))
        rights.append(np.maximum(item, other))
        ranks.append(best_rank[item, place])
    # Each thread's lists hold the nearest of the pairs it found: united, every item's
    # nearest overall are among them, ranked before the rest.
    left, right, rank = _unique_pairs(
        np.concatenate(lefts), np.concatenate(rights), np.concatenate(ranks), len(hashes)
    )
    kept = nearest_of_either(left, right, rank, count)
    return left[kept], right[kept], rank[kept]


def block_means(cells: np.ndarray, per_side: int = BOUND_BLOCKS) -> np.ndarray:
    """The square grids ``cells`` ((n, side * side, 2)) cut into ``per_side`` x
    ``per_side`` blocks: each block's mean (a*, b*) weighted by its share of the cells,
    (n, blocks, 2) float64. The sum of the distances of two grids' weighted block means is
    at most their mean cell distance (the gate's): a pair whose sum exceeds ``max_chroma``
    fails the gate, without the 144 cell distances (nine in ten of the look-alikes of
    another colour, where the grid's overall mean alone finds eight).

    >>> cells = np.zeros((2, 16, 2), np.uint8); cells[1, :8] = 4
    >>> block_means(cells, 2)[1].tolist()
    [[1.0, 1.0], [1.0, 1.0], [0.0, 0.0], [0.0, 0.0]]
    """
    side = math.isqrt(cells.shape[1])
    if side * side != cells.shape[1]:
        raise ValueError(f"chroma grids must be square; received {cells.shape[1]} cells")
    grid = cells.reshape(len(cells), side, side, 2).astype(np.float64)
    edges = np.linspace(0, side, min(per_side, side) + 1).round().astype(int)[:-1]
    sums = np.add.reduceat(np.add.reduceat(grid, edges, axis=1), edges, axis=2)
    return np.ascontiguousarray(sums.reshape(len(cells), -1, 2) / side**2)


def nearest_of_either(
    left: np.ndarray, right: np.ndarray, rank: np.ndarray, count: int
) -> np.ndarray:
    """Pairs among the ``count`` nearest of either of their items, by ``rank``, smaller
    first (a hash distance, :data:`probe.RANK_SCALE`'s rank, a chroma distance; ties:
    lower index)."""
    ends = np.concatenate([left, right])
    pair = np.tile(np.arange(len(left)), 2)
    by_end = np.lexsort((np.concatenate([right, left]), np.tile(rank, 2), ends))
    sorted_ends = ends[by_end]
    starts = np.flatnonzero(np.r_[True, sorted_ends[1:] != sorted_ends[:-1]])
    rank = np.arange(len(by_end)) - np.repeat(starts, np.diff(np.r_[starts, len(by_end)]))
    kept = np.zeros(len(left), bool)
    kept[pair[by_end[rank < count]]] = True
    return kept


def _probe(
    hashes: np.ndarray, radius: int, lists: list[Nearest]
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The probe's pairs, one result per task; one thread per entry of ``lists`` (the
    nearest lists a thread writes, or empty ones: see :data:`probe.Nearest`)."""
    from dataset.dedup.probe import probe_tiles

    workers = len(lists)
    free: queue.SimpleQueue = queue.SimpleQueue()  # a thread's task takes one, alone
    for entry in lists:
        free.put(entry)
    results: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    searched: list[tuple[int, int, int]] = []  # (shift, bits, budget) of the chunks done
    with ThreadPoolExecutor(workers) as pool:
        for chunk in _chunk_layout(len(hashes), radius):
            earlier = np.array(searched, np.uint64).reshape(-1, 3)
            table = _table(hashes, chunk)
            masks = np.array(_masks(chunk.width, chunk.budget), np.int64)
            per_value = len(hashes) / 2**chunk.width
            tile_bits = min(chunk.width, max(0, round(math.log2(TILE_ITEMS / per_value))))
            tiles = _pieces(table.starts, chunk.width, tile_bits)
            # Interleaved shares: look-alike photos crowd a few chunk values.
            shares = [tiles[k :: workers * TILES_PER_THREAD]
                      for k in range(min(len(tiles), workers * TILES_PER_THREAD))]  # fmt: skip
            probe = partial(probe_tiles, table.chunks, table.hashes, table.order, table.starts,
                            masks, tile_bits, radius)  # fmt: skip

            def task(
                share: np.ndarray, probe: Callable = probe, earlier: np.ndarray = earlier
            ) -> tuple:
                entry = free.get()
                try:
                    return probe(entry, earlier, share)
                finally:
                    free.put(entry)

            results.extend(pool.map(task, shares))
            searched.append((chunk.shift, (1 << chunk.width) - 1, chunk.budget))
    return results


def _pieces(starts: np.ndarray, width: int, tile_bits: int) -> np.ndarray:
    """The probe's tasks: rows ``(tile, first, end)``, each tile's sorted positions cut
    into pieces of at most :data:`PIECE_ITEMS` items, empty tiles left out. Hash bits
    are far from uniform on photos (at 19,799 look-alike images one of fmhash's four tiles
    held 17,890 items), and a tile probed whole is one thread's work.

    >>> _pieces(np.array([0, 0, 3, 3, 2100]), 2, 1).tolist()
    [[0, 0, 3], [1, 3, 702], [1, 702, 1401], [1, 1401, 2100]]
    """
    tiles = np.arange(1 << (width - tile_bits), dtype=np.int64)
    first, end = starts[tiles << tile_bits], starts[(tiles + 1) << tile_bits]
    size = end - first
    count = -(-size // PIECE_ITEMS)  # 0 for an empty tile
    tile = np.repeat(tiles, count)
    part = np.arange(len(tile)) - np.repeat(np.cumsum(count) - count, count)
    step = -(-size // np.maximum(count, 1))
    lower = first[tile] + part * step[tile]
    upper = np.minimum(lower + step[tile], end[tile])
    return np.stack([tile, lower, upper], axis=1).astype(np.int64)


def _unique_pairs(
    left: np.ndarray, right: np.ndarray, dist: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each pair once, sorted by ``(i, j)`` (a pair sits in the nearest lists of both its
    items and of several threads; the probe itself finds each pair once, by its first
    chunk)."""
    key, first = np.unique(left * n + right, return_index=True)
    return key // n, key % n, dist[first]


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

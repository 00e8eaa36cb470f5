"""The compiled inner loop of the candidate search (:mod:`dataset.dedup.search`).

Imported by the search when it runs, not before (:mod:`dataset.dedup.jit`). The loop
releases the GIL: threads share the tables instead of copying them into processes. For
the candidates, the loop applies the chroma gate and keeps each item's nearest partners
itself (:func:`_offer`): no pair list grows with the square of a crowd of look-alikes.
"""

from __future__ import annotations

import numpy as np

from dataset.dedup.jit import compiled, popcount


def _grown(values: np.ndarray) -> np.ndarray:
    out = np.empty(2 * len(values), values.dtype)
    out[: len(values)] = values
    return out


# chunks, hashes, order, starts, masks: one table of dataset.dedup.search._table
Table = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
# grids (n, cells, 2) of the chroma gate, max_chroma, the ranks (RANK_SCALE) and partners
# of each item's nearest partners (n, count) so far, ascending by (rank, partner), and the
# grids' block means (n, blocks, 2; see dataset.dedup.search.block_means): empty arrays
# (count 0) for all pairs
Nearest = tuple[np.ndarray, float, np.ndarray, np.ndarray, np.ndarray]
NO_PARTNER = 2**62  # the partner of an empty place of a nearest list: ranks last
NO_RANK = np.inf
# A partner's rank: its hash distance times RANK_SCALE plus its chroma distance (at most
# 361 for 8-bit a*, b*), which orders by distance, then colour. Look-alikes of one cut and
# colour lie at one hash distance, often 0, in a crowd; of those, the partner whose colours
# are closest first: a copy's grid differs less than a look-alike's, whose detail (a
# logo, a word) changes a few cells; the index alone chose by chance.
RANK_SCALE = 1024.0
# The block bound and the gate's distance are rounded differently (float64 against cell
# distances rounded to float32: 1e-7 of at most 361); a bound this far above the gate is
# above it whatever the rounding.
BOUND_SLACK = 1e-3


def _tile_pairs(
    table: Table,
    tile_bits: int,
    radius: int,
    tile: int,
    first: int,
    end: int,
    out: tuple[np.ndarray, np.ndarray, np.ndarray],
    found: int,
    nearest: Nearest,
    earlier: np.ndarray,
) -> int:
    """Adds the pairs found from the items at sorted positions ``first:end`` of ``tile``
    (the whole tile or a piece of it) to ``out`` from row ``found`` on;
    the new row count, or -1 when ``out`` is full (the caller grows it and runs the tile
    again). ``out`` is never reassigned here: the hot loop stays free of reference counts.
    With nearest lists (``nearest``), a pair is offered to them instead (:func:`_offer`)
    and ``out`` stays empty: memory does not grow with the pairs within the radius. A pair
    that a chunk of ``earlier`` finds (:func:`_found_before`) is left to that chunk.
    """
    chunks, hashes, order, starts, masks = table
    left, right, dist = out
    capped = nearest[2].shape[1] > 0
    for mask in masks:
        if first == end or (tile ^ (mask >> tile_bits)) < tile:
            continue  # the whole tile holds the higher chunks of these pairs
        for p in range(first, end):
            target = chunks[p] ^ mask
            if target < chunks[p]:
                continue
            h = hashes[p]
            for q in range(p + 1 if mask == 0 else starts[target], starts[target + 1]):
                d = popcount(h ^ hashes[q])
                if d <= radius and not _found_before(earlier, h ^ hashes[q]):
                    i, j = min(order[p], order[q]), max(order[p], order[q])
                    if capped:
                        _offer(nearest, i, j, d)
                        continue
                    if found == len(left):
                        return -1
                    left[found], right[found], dist[found] = i, j, d
                    found += 1
    return found


def _found_before(earlier: np.ndarray, difference: np.uint64) -> bool:
    """Whether one of the chunks ``earlier`` ((k, 3) uint64 rows: shift, mask of the
    chunk's bits, budget) finds a pair whose hashes differ by ``difference``: a pair close
    in several chunks is offered once, by the first (a look-alike of another colour would
    otherwise pass the bound and the gate again in each)."""
    for c in range(earlier.shape[0]):
        if popcount((difference >> earlier[c, 0]) & earlier[c, 1]) <= np.int64(earlier[c, 2]):
            return True
    return False


def _offer(nearest: Nearest, i: int, j: int, d: int) -> None:
    """Puts the pair ``(i, j)`` at distance ``d`` into the nearest lists of ``i`` and
    ``j`` where it ranks (:data:`RANK_SCALE`), if its colours pass the gate: the gate is
    computed only for a pair whose distance could rank (look-alikes of other colours crowd
    the radius), and not at all where the block means alone put it above the gate
    (:func:`_block_bound`)."""
    grids, max_chroma, best_rank, best_other, blocks = nearest
    count = best_rank.shape[1]
    floor = d * RANK_SCALE  # the pair's rank at least
    if floor > best_rank[i, count - 1] and floor > best_rank[j, count - 1]:
        return
    if _block_bound(blocks, i, j) > max_chroma + BOUND_SLACK:
        return
    chroma = _chroma_distance(grids, i, j)
    if chroma > max_chroma:
        return
    rank = floor + chroma
    place_i = _place(best_rank, best_other, i, j, rank)
    place_j = _place(best_rank, best_other, j, i, rank)
    if place_i < count:
        _insert(best_rank, best_other, i, place_i, j, rank)
    if place_j < count:
        _insert(best_rank, best_other, j, place_j, i, rank)


def _place(best_rank: np.ndarray, best_other: np.ndarray, i: int, j: int, rank: float) -> int:
    """Where partner ``j`` of ``rank`` would enter ``i``'s list: its place, or the list's
    length where it does not rank or is there already."""
    count = best_rank.shape[1]
    for place in range(count):
        if best_other[i, place] == j:
            return count
        if rank < best_rank[i, place] or (rank == best_rank[i, place] and j < best_other[i, place]):
            return place
    return count


def _insert(
    best_rank: np.ndarray, best_other: np.ndarray, i: int, place: int, j: int, rank: float
) -> None:
    """Partner ``j`` of ``rank`` into ``i``'s list at ``place``, the later ones moved down
    and the last dropped."""
    for s in range(best_rank.shape[1] - 1, place, -1):
        best_rank[i, s], best_other[i, s] = best_rank[i, s - 1], best_other[i, s - 1]
    best_rank[i, place], best_other[i, place] = rank, j


def _probe_tiles(
    chunks: np.ndarray,
    hashes: np.ndarray,
    order: np.ndarray,
    starts: np.ndarray,
    masks: np.ndarray,
    tile_bits: int,
    radius: int,
    nearest: Nearest,
    earlier: np.ndarray,
    tiles: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs ``(i, j, distance)``, ``i < j``, within ``radius``, found from the items of
    ``tiles`` (rows: a tile, and the sorted positions ``first, end`` of its items to
    probe from) through ``masks`` (a table of :func:`dataset.dedup.search._table`) and not
    through the chunks ``earlier`` (see :func:`_found_before`); with nearest lists
    (``nearest``: see :data:`Nearest`), none: the pairs go to the lists.

    A tile is the sorted positions of the chunk values ``[t << tile_bits, (t + 1) <<
    tile_bits)``; ``v ^ f`` of its values stays in tile ``t ^ (f >> tile_bits)``. Of the two
    ends of a pair whose chunks differ by ``f != 0`` only the one with the lower chunk looks
    the pair up, so each pair is found once per chunk; equal chunks: the lower position.
    """
    out = (np.empty(1024, np.int64), np.empty(1024, np.int64), np.empty(1024, np.uint8))
    found = 0
    for row in range(tiles.shape[0]):
        tile, first, end = tiles[row, 0], tiles[row, 1], tiles[row, 2]
        done = -1
        while done < 0:
            done = _tile_pairs(
                (chunks, hashes, order, starts, masks), tile_bits, radius, tile, first, end,
                out, found, nearest, earlier,
            )  # fmt: skip
            if done < 0:
                out = (_grown(out[0]), _grown(out[1]), _grown(out[2]))
        found = done
    return out[0][:found], out[1][:found], out[2][:found]


def _chroma_distance(grids: np.ndarray, i: int, j: int) -> float:
    """Mean (a*, b*) distance over the cells of ``grids`` ((n, cells, 2), uint8 or
    float32) of items ``i`` and ``j``, rounded to float32 as
    :func:`dataset.dedup.verify.chroma_distance`'s cells are."""
    a, b = grids[i], grids[j]
    cells = grids.shape[1]
    total = 0.0
    for c in range(cells):
        da = np.float32(a[c, 0]) - np.float32(b[c, 0])
        db = np.float32(a[c, 1]) - np.float32(b[c, 1])
        total += np.sqrt(da * da + db * db)
    return float(np.float32(total / cells))


def _block_bound(blocks: np.ndarray, i: int, j: int) -> float:
    """A lower bound of :func:`_chroma_distance` of items ``i`` and ``j`` from their
    weighted block means (``blocks``: (n, blocks, 2)): the mean of the cells' distances
    within a block is at least the distance of the block's two means (the triangle
    inequality), so the sum over blocks is at most the gate's distance."""
    a, b = blocks[i], blocks[j]
    total = 0.0
    for k in range(blocks.shape[1]):
        da, db = a[k, 0] - b[k, 0], a[k, 1] - b[k, 1]
        total += np.sqrt(da * da + db * db)
    return total


def _chroma_distances(grids: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """:func:`_chroma_distance` of each pair ``(left[k], right[k])``, read in place
    instead of gathered."""
    out = np.empty(len(left), np.float32)
    for k in range(len(left)):
        out[k] = _chroma_distance(grids, left[k], right[k])
    return out


(_grown, _chroma_distance, _block_bound, _place, _insert, _offer, _found_before, _tile_pairs,
 probe_tiles, chroma_distances) = compiled(
    _grown, _chroma_distance, _block_bound, _place, _insert, _offer, _found_before,
    _tile_pairs, _probe_tiles, _chroma_distances,
)  # fmt: skip

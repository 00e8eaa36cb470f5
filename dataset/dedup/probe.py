"""The compiled inner loop of the candidate search (:mod:`dataset.dedup.search`).

Imported by the search when it runs, not before (numba takes about 0.5 s to import).
Numba compiles :func:`probe_tiles` once per machine and caches it: next to this file, or
under ``NUMBA_CACHE_DIR`` (else the user's cache folder) where the package is read-only;
with no writable folder at all it is compiled in each process, a few seconds. The loop
releases the GIL: threads share the tables instead of copying them into processes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, cast

import numba
import numpy as np
from numba import types
from numba.extending import intrinsic

logger = logging.getLogger(__name__)


def _popcount_signature(typingctx: Any, value: Any) -> Any:
    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.ctpop(args[0])  # one POPCNT instruction

    return types.int64(types.uint64), codegen


_popcount = cast(Callable[[Any], int], intrinsic(_popcount_signature))


def _grown(values: np.ndarray) -> np.ndarray:
    out = np.empty(2 * len(values), values.dtype)
    out[: len(values)] = values
    return out


# chunks, hashes, order, starts, masks: one table of dataset.dedup.search._table
Table = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _tile_pairs(
    table: Table,
    tile_bits: int,
    radius: int,
    tile: int,
    out: tuple[np.ndarray, np.ndarray, np.ndarray],
    found: int,
) -> int:
    """Adds the pairs found from the items of ``tile`` to ``out`` from row ``found`` on;
    the new row count, or -1 when ``out`` is full (the caller grows it and runs the tile
    again). ``out`` is never reassigned here: the hot loop stays free of reference counts.
    """
    chunks, hashes, order, starts, masks = table
    left, right, dist = out
    first, end = starts[tile << tile_bits], starts[(tile + 1) << tile_bits]
    for mask in masks:
        if first == end or (tile ^ (mask >> tile_bits)) < tile:
            continue  # the whole tile holds the higher chunks of these pairs
        for p in range(first, end):
            target = chunks[p] ^ mask
            if target < chunks[p]:
                continue
            h = hashes[p]
            for q in range(p + 1 if mask == 0 else starts[target], starts[target + 1]):
                d = _popcount(h ^ hashes[q])
                if d <= radius:
                    if found == len(left):
                        return -1
                    left[found] = min(order[p], order[q])
                    right[found] = max(order[p], order[q])
                    dist[found] = d
                    found += 1
    return found


def _probe_tiles(
    chunks: np.ndarray,
    hashes: np.ndarray,
    order: np.ndarray,
    starts: np.ndarray,
    masks: np.ndarray,
    tile_bits: int,
    radius: int,
    tiles: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs ``(i, j, distance)``, ``i < j``, within ``radius``, found from the items of
    ``tiles`` through ``masks`` (a table of :func:`dataset.dedup.search._table`).

    A tile is the sorted positions of the chunk values ``[t << tile_bits, (t + 1) <<
    tile_bits)``; ``v ^ f`` of its values stays in tile ``t ^ (f >> tile_bits)``. Of the two
    ends of a pair whose chunks differ by ``f != 0`` only the one with the lower chunk looks
    the pair up, so each pair is found once per chunk; equal chunks: the lower position.
    """
    out = (np.empty(1024, np.int64), np.empty(1024, np.int64), np.empty(1024, np.uint8))
    found = 0
    for tile in tiles:
        done = -1
        while done < 0:
            done = _tile_pairs(
                (chunks, hashes, order, starts, masks), tile_bits, radius, tile, out, found
            )
            if done < 0:
                out = (_grown(out[0]), _grown(out[1]), _grown(out[2]))
        found = done
    return out[0][:found], out[1][:found], out[2][:found]


def _chroma_distances(grids: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Mean (a*, b*) distance over the cells of ``grids`` ((n, cells, 2) float32) of each
    pair ``(left[k], right[k])``: the chroma gate of the search's pairs, which on
    look-alikes number hundreds per image, read in place instead of gathered."""
    out = np.empty(len(left), np.float32)
    cells = grids.shape[1]
    for k in range(len(left)):
        a, b = grids[left[k]], grids[right[k]]
        total = 0.0
        for c in range(cells):
            da, db = a[c, 0] - b[c, 0], a[c, 1] - b[c, 1]
            total += np.sqrt(da * da + db * db)
        out[k] = total / cells
    return out


def _compiled(*functions: Any) -> list[Any]:
    try:
        return [numba.njit(nogil=True, cache=True)(function) for function in functions]
    except RuntimeError as exc:  # no writable cache folder: compiled in each process
        logger.warning("search kernel compiled without a cache (a few seconds): %s", exc)
        return [numba.njit(nogil=True)(function) for function in functions]


_grown, _tile_pairs, probe_tiles, chroma_distances = _compiled(
    _grown, _tile_pairs, _probe_tiles, _chroma_distances
)

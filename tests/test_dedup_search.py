"""The candidate search at its edges: extreme hashes, crowded buckets, threads, radius 0;
the chroma gate and the per-image cap inside the probe."""

from __future__ import annotations

import numpy as np
import pytest

from dataset.dedup.probe import RANK_SCALE, _block_bound, chroma_distances
from dataset.dedup.search import (
    PIECE_ITEMS,
    _chunk_layout,
    block_means,
    brute_force_pairs,
    near_pairs,
    nearest_of_either,
    nearest_pairs,
)

TOP = np.uint64(2**64 - 1)


def _edge_hashes() -> np.ndarray:
    """Hashes at the ends of the 64-bit range and their near copies, a crowd of equal
    hashes (more pairs than a thread's first buffer holds) and random ones."""
    rng = np.random.default_rng(7)
    extremes = [np.uint64(0), TOP, np.uint64(2**63), np.uint64(2**63 - 1)]
    near = [value ^ np.uint64(1 << int(bit)) for value in extremes for bit in (0, 31, 63)]
    crowd = [np.uint64(0x0123456789ABCDEF)] * 60  # 1,770 pairs at distance 0
    random = rng.integers(0, 2**63, 2000, dtype=np.int64).astype(np.uint64) << np.uint64(1)
    flipped = random[:400] ^ (np.uint64(1) << rng.integers(0, 64, 400).astype(np.uint64))
    return np.concatenate([extremes, near, crowd, random, flipped]).astype(np.uint64)


@pytest.mark.parametrize(("radius", "workers"), [(0, 1), (1, 2), (10, 2), (24, 1)])
def test_search_equals_brute_force_at_the_edges(radius: int, workers: int) -> None:
    hashes = _edge_hashes()
    expected = brute_force_pairs(hashes, radius)
    got = near_pairs(hashes, radius, workers=workers)
    assert len(expected[0]) >= 1770
    for want, have in zip(expected, got, strict=True):
        np.testing.assert_array_equal(want, have)
    assert got[2].dtype == np.uint8


def test_a_crowded_tile_probed_in_pieces_by_two_threads_finds_every_pair() -> None:
    # Equal hashes beyond a piece's size and their one-bit neighbours: the pieces split the
    # crowd's bucket, whose pairs each piece still looks up to the bucket's end.
    crowd = np.full(PIECE_ITEMS + 500, 0x0123456789ABCDEF, np.uint64)
    hashes = np.concatenate([crowd, crowd[:300] ^ np.uint64(1 << 40), _edge_hashes()])
    expected = brute_force_pairs(hashes, 2)
    got = near_pairs(hashes, 2, workers=2)
    for want, have in zip(expected, got, strict=True):
        np.testing.assert_array_equal(want, have)


def test_layout_covers_the_radius_by_pigeonhole() -> None:
    """Budgets ``t_i`` with ``sum(t_i + 1) == radius + 1`` over chunks that tile the 64 bits."""
    for n_items in (2, 10_000, 1_000_000, 50_000_000):
        for radius in (0, 5, 10, 24):
            chunks = _chunk_layout(n_items, radius)
            assert sum(c.budget + 1 for c in chunks) == radius + 1
            assert all(c.width <= 24 and c.budget >= 0 for c in chunks)
            covered = sorted((c.shift, c.shift + c.width) for c in chunks)
            assert all(a[1] <= b[0] for a, b in zip(covered, covered[1:], strict=False))


def test_tiny_inputs() -> None:
    empty = near_pairs(np.empty(0, np.uint64), 10)
    one = near_pairs(np.array([5], np.uint64), 10)
    assert all(len(part) == 0 for part in (*empty, *one))
    left, right, dist = near_pairs(np.array([TOP, 0, TOP], np.uint64), 0, workers=2)
    assert (left.tolist(), right.tolist(), dist.tolist()) == ([0], [2], [0])


@pytest.mark.parametrize(("count", "workers"), [(1, 1), (2, 2), (3, 2)])
def test_gate_and_cap_in_the_probe_keep_the_pairs_of_all_pairs_gated(
    count: int, workers: int
) -> None:
    hashes = _edge_hashes()
    rng = np.random.default_rng(count)
    # Three colours 28 apart per cell, and noise: some pairs of one colour fail too.
    base = rng.integers(0, 3, len(hashes))[:, None, None] * 20
    grids = (base + rng.integers(0, 17, (len(hashes), 144, 2))).astype(np.uint8)
    grids[16:46] = 40  # half the crowd of equal hashes: one colour, the other half mixed
    left, right, dist = near_pairs(hashes, 12, workers=1)
    distances = chroma_distances(grids, left, right)
    passed = distances <= 9.0
    # The probe skips the gate where the block means' bound exceeds it: a lower bound.
    blocks = block_means(grids)
    pairs = zip(left[:300], right[:300], strict=True)
    bounds = np.array([_block_bound(blocks, i, j) for i, j in pairs])
    assert (bounds <= distances[:300] + 1e-4).all() and (bounds > 9.0).any()
    left, right, dist = left[passed], right[passed], dist[passed]
    rank = dist * RANK_SCALE + distances[passed]  # by distance, then colour
    kept = nearest_of_either(left, right, rank, count)
    got = nearest_pairs(hashes, 12, count, grids, 9.0, workers=workers)
    assert 0.1 < passed.mean() < 0.9 and 0 < kept.sum() < len(kept)
    np.testing.assert_array_equal(left[kept], got[0])
    np.testing.assert_array_equal(right[kept], got[1])


def test_of_a_crowd_at_one_hash_distance_the_closest_colours_are_kept() -> None:
    # Four photos of one cut at hash distance 0: two look-alikes whose details change
    # 10 and 12 cells of the chroma grid, and a copy of photo 0 one cell a little off.
    # By index alone, photo 0 would keep look-alike 1 and lose its copy.
    hashes = np.zeros(4, np.uint64)
    grids = np.full((4, 144, 2), 100, np.uint8)
    grids[1, :10] += 30
    grids[2, :12] += 30
    grids[3, 0] += 3
    left, right, _rank = nearest_pairs(hashes, 10, 1, grids, 15.0)
    assert set(zip(left.tolist(), right.tolist(), strict=True)) == {(0, 3), (1, 2)}

"""Nearest neighbours by inner product (cosine on L2-normalised rows): exact and IVF.

Exact search is one matrix product per gallery chunk and a running top-k kept with
``argpartition``, so memory stays bounded for any gallery size. The approximate index is
an inverted file (IVF): spherical k-means splits the gallery into ``nlist`` cells whose
rows are stored contiguously, and a query scans only the ``nprobe`` nearest cells.

>>> g = np.eye(3, dtype=np.float32)
>>> exact_topk(g, g[[1]], k=2)[1].tolist()
[[1, 0]]
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)

CHUNK_ROWS = 32768  # gallery rows scored at once: bounds the score matrix memory


def _merge_topk(scores: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Best ``k`` of each row, sorted by score then by id (so ties are deterministic)."""
    if scores.shape[1] > k:
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        scores = np.take_along_axis(scores, part, axis=1)
        ids = np.take_along_axis(ids, part, axis=1)
    order = np.lexsort((ids, -scores), axis=1) if scores.size else np.zeros_like(ids)
    return np.take_along_axis(scores, order, axis=1), np.take_along_axis(ids, order, axis=1)


def exact_topk(
    gallery: np.ndarray, queries: np.ndarray, k: int, chunk: int = CHUNK_ROWS
) -> tuple[np.ndarray, np.ndarray]:
    """Scores and gallery rows of the ``k`` best matches of each query, best first."""
    queries = np.asarray(queries, dtype=np.float32)
    k = min(k, len(gallery))
    best_s = np.full((len(queries), 0), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(queries), 0), dtype=np.int64)
    for start in range(0, len(gallery), chunk):
        block = np.asarray(gallery[start : start + chunk], dtype=np.float32)
        scores = queries @ block.T
        ids = np.broadcast_to(np.arange(start, start + len(block)), scores.shape)
        best_s, best_i = _merge_topk(
            np.concatenate([best_s, scores], axis=1), np.concatenate([best_i, ids], axis=1), k
        )
    return best_s, best_i


def spherical_kmeans(
    x: np.ndarray, nlist: int, iterations: int = 10, sample: int | None = None, seed: int = 0
) -> np.ndarray:
    """``nlist`` unit centroids fitted on (a sample of) the unit rows of ``x``."""
    rng = np.random.default_rng(seed)
    n = len(x)
    size = min(n, sample or nlist * 40)
    train = np.asarray(x[rng.choice(n, size, replace=False)], dtype=np.float32)
    centroids = train[rng.choice(size, nlist, replace=False)].copy()
    for _ in range(iterations):
        assign = np.argmax(train @ centroids.T, axis=1)
        sums = np.zeros_like(centroids)
        np.add.at(sums, assign, train)
        counts = np.bincount(assign, minlength=nlist)
        empty = counts == 0
        # An empty cell takes a random training row, so every cell keeps a purpose.
        sums[empty] = train[rng.choice(size, int(empty.sum()), replace=False)]
        centroids = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
    return centroids.astype(np.float32)


def assign_cells(x: np.ndarray, centroids: np.ndarray, chunk: int = CHUNK_ROWS) -> np.ndarray:
    cells = np.empty(len(x), dtype=np.int64)
    for start in range(0, len(x), chunk):
        block = np.asarray(x[start : start + chunk], dtype=np.float32)
        cells[start : start + len(block)] = np.argmax(block @ centroids.T, axis=1)
    return cells


@dataclass
class IVF:
    """Cells over a gallery whose rows are sorted by cell: cell ``c`` is rows offsets[c]:offsets[c+1]."""

    centroids: np.ndarray
    offsets: np.ndarray

    @property
    def nlist(self) -> int:
        return len(self.centroids)

    @classmethod
    def build(cls, x: np.ndarray, nlist: int, seed: int = 0) -> tuple[IVF, np.ndarray]:
        """The index and the row order that makes each cell contiguous (apply it to the gallery)."""
        nlist = max(1, min(nlist, len(x)))
        centroids = spherical_kmeans(x, nlist, seed=seed)
        cells = assign_cells(x, centroids)
        order = np.argsort(cells, kind="stable")
        offsets = np.concatenate([[0], np.cumsum(np.bincount(cells, minlength=nlist))])
        return cls(centroids, offsets.astype(np.int64)), order

    def search(
        self, gallery: np.ndarray, queries: np.ndarray, k: int, nprobe: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Like :func:`exact_topk` but scanning only the ``nprobe`` nearest cells."""
        queries = np.asarray(queries, dtype=np.float32)
        nprobe = max(1, min(nprobe, self.nlist))
        k = min(k, len(gallery))
        out_s = np.full((len(queries), k), -np.inf, dtype=np.float32)
        out_i = np.full((len(queries), k), -1, dtype=np.int64)
        cell_scores = queries @ self.centroids.T
        probes = np.argpartition(-cell_scores, nprobe - 1, axis=1)[:, :nprobe]
        for q, query in enumerate(queries):
            scores, ids = [], []
            for cell in probes[q]:
                lo, hi = int(self.offsets[cell]), int(self.offsets[cell + 1])
                if hi > lo:
                    scores.append(gallery[lo:hi] @ query)
                    ids.append(np.arange(lo, hi))
            if not scores:
                continue
            s, i = _merge_topk(np.concatenate(scores)[None], np.concatenate(ids)[None], k)
            out_s[q, : s.shape[1]], out_i[q, : i.shape[1]] = s[0], i[0]
        return out_s, out_i

    def default_nprobe(self) -> int:
        return max(1, self.nlist // 16)


def default_nlist(count: int) -> int:
    """About sqrt(n) cells: k-means stays cheap and a cell holds about sqrt(n) rows."""
    return max(1, int(round(np.sqrt(count))))

"""Which worker of stage 2 scores which candidate pairs, and in what order: each image's
views (a decode and ORB: about as costly as scoring one pair) made once.

The candidate pairs of product photos do not fall into small groups: look-alikes of one
cut and colour link families into one large connected graph (8,864 of the 10,604 images
with a pair on the bench's larger look-alike set), so tasks cut from it need the same
images again and again. Here the images are ordered by reverse Cuthill-McKee (the two
images of a pair lie close in that order), the pairs sorted by their images' places and
dealt to the workers in contiguous streams, one per worker. A worker keeps an image's
views from its first pair in the stream to its last (:attr:`PairTask.release` says when
to drop them), so the views of an image are made once per stream that needs it: only
the images with pairs on both sides of a cut between streams are made twice.

>>> left, right = np.array([0, 1, 2]), np.array([1, 2, 3])
>>> [stream] = pair_streams(["a", "b", "c", "d"], left, right, workers=1, size=2)
>>> [(sorted(task.keys.values()), task.release) for _positions, task in stream]
[(['b', 'c', 'd'], [2, 3]), (['a', 'b'], [0, 1])]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PairTask:
    """A piece of a worker's stream: pairs of image indices and the images they need."""

    keys: dict[int, str]  # index -> store key, of every image of the task's pairs
    left: np.ndarray
    right: np.ndarray
    release: list[int]  # images no later task of the stream needs: their views are dropped


def pair_streams(
    image_paths: Sequence[str], left: np.ndarray, right: np.ndarray, workers: int, size: int
) -> list[list[tuple[np.ndarray, PairTask]]]:
    """One stream per worker (fewer if there are fewer pairs), each a list of tasks of at
    most ``size`` pairs with the positions of their pairs in ``left``/``right``; every
    pair is in exactly one task."""
    if not len(left):
        return []
    order = _locality_order(left, right)
    bounds = np.linspace(0, len(order), min(workers, len(order)) + 1).round().astype(int)
    streams = []
    for start, stop in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        positions = order[start:stop]
        # The last task of the stream that needs each image: it releases it.
        ends = np.concatenate([left[positions], right[positions]])
        task_of = np.tile(np.arange(len(positions)) // size, 2)
        by_task = np.argsort(task_of, kind="stable")  # the last entry of an image wins
        last_task = dict(zip(ends[by_task].tolist(), task_of[by_task].tolist(), strict=True))
        released: dict[int, list[int]] = {}
        for image, task in last_task.items():
            released.setdefault(task, []).append(image)
        stream = []
        for number, first in enumerate(range(0, len(positions), size)):
            piece = positions[first : first + size]
            lc, rc = left[piece], right[piece]
            keys = {i: image_paths[i] for i in np.unique(np.concatenate([lc, rc])).tolist()}
            stream.append((piece, PairTask(keys, lc, rc, sorted(released.get(number, [])))))
        streams.append(stream)
    return streams


def _locality_order(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Positions of the pairs sorted by the reverse Cuthill-McKee places of their images
    (the nearer first, then the farther): an image's pairs come close together."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import reverse_cuthill_mckee

    nodes = np.unique(np.concatenate([left, right]))
    a, b = np.searchsorted(nodes, left), np.searchsorted(nodes, right)
    edges = np.ones(2 * len(a), np.int8)
    graph = coo_matrix((edges, (np.r_[a, b], np.r_[b, a])), shape=(len(nodes), len(nodes)))
    place = np.empty(len(nodes), np.int64)
    place[reverse_cuthill_mckee(graph.tocsr(), symmetric_mode=True)] = np.arange(len(nodes))
    near, far = np.minimum(place[a], place[b]), np.maximum(place[a], place[b])
    return np.lexsort((far, near))

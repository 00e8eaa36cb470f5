"""Top-k retrieval accuracy: a query is a hit at k when a positive is among the k best.

Conventions (the tests pin them down):

* **Rank** of a query = 1 + the number of *negatives* scoring at least as high as its best
  positive. Ties are broken against the query, so the figure never depends on the
  order of the gallery, and an encoder that maps everything to one point scores 0.
* **k larger than the gallery**: a query with a positive is then always a hit.
* **No positive in the gallery**: the query has no rank (0 here); it is counted in
  ``no_gallery_match`` and left out of the accuracy, unless ``unmatched="miss"``.

>>> g = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
>>> best_positive_ranks(g[[0]], g, ["a"], ["a", "b"]).tolist()
[1]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

QUERY_CHUNK = 1024  # queries scored at once against the whole gallery


def best_positive_ranks(
    queries: np.ndarray,
    gallery: np.ndarray,
    query_keys: Sequence[Any],
    gallery_keys: Sequence[Any],
    chunk: int = QUERY_CHUNK,
) -> np.ndarray:
    """Rank of each query's best positive (see module doc); 0 where it has no positive."""
    codes, _ = pd.factorize(pd.Series(list(query_keys) + list(gallery_keys), dtype=object))
    q_codes, g_codes = codes[: len(query_keys)], codes[len(query_keys) :]
    gallery = np.asarray(gallery, dtype=np.float32)
    ranks = np.zeros(len(queries), dtype=np.int64)
    for start in range(0, len(queries), chunk):
        block = np.asarray(queries[start : start + chunk], dtype=np.float32)
        scores = block @ gallery.T
        positive = q_codes[start : start + len(block), None] == g_codes[None, :]
        best = np.where(positive, scores, -np.inf).max(axis=1, initial=-np.inf)
        beaten = ((scores >= best[:, None]) & ~positive).sum(axis=1)
        ranks[start : start + len(block)] = np.where(positive.any(axis=1), beaten + 1, 0)
    return ranks


def topk_accuracy(
    ranks: np.ndarray,
    ks: Sequence[int],
    categories: Sequence[Any] | None = None,
    unmatched: str = "exclude",
) -> dict[str, Any]:
    """Overall and per-category top-k accuracy from :func:`best_positive_ranks`."""
    if unmatched not in ("exclude", "miss"):
        raise ValueError(f"unmatched must be 'exclude' or 'miss'. Received: {unmatched!r}")
    ranks = np.asarray(ranks)

    def summarise(r: np.ndarray) -> dict[str, Any]:
        matched = r > 0
        counted = r if unmatched == "miss" else r[matched]
        return {
            "queries": int(len(r)),
            "evaluated": int(len(counted)),
            "no_gallery_match": int((~matched).sum()),
            "top_k": {
                str(k): (float(((counted > 0) & (counted <= k)).mean()) if len(counted) else None)
                for k in ks
            },
        }

    report = summarise(ranks)
    report["unmatched"] = unmatched
    if categories is not None:
        cats = pd.Series(list(categories), dtype=object).fillna("unknown").astype(str)
        report["per_category"] = {
            cat: summarise(ranks[(cats == cat).to_numpy()]) for cat in sorted(cats.unique())
        }
    return report


def chance_topk(
    query_keys: Sequence[Any], gallery_keys: Sequence[Any], ks: Sequence[int]
) -> dict[str, float | None]:
    """Top-k accuracy of a random ranking on the same queries: a query with ``m`` of the
    ``n`` gallery images as positives is a hit at k with probability
    ``1 - C(n - m, k) / C(n, k)``; queries without a positive are left out.

    >>> chance_topk(["a", "b"], ["a", "a", "c", "d"], [1, 2])
    {'1': 0.5, '2': 0.8333}
    """
    counts = pd.Series(list(gallery_keys), dtype=object).value_counts()
    n = len(gallery_keys)
    positives = np.array([int(counts.get(key, 0)) for key in query_keys])
    positives = positives[positives > 0]
    out: dict[str, float | None] = {}
    for k in ks:
        if not len(positives):
            out[str(k)] = None
            continue
        # C(n - m, k) / C(n, k) = prod_{i < k} (n - m - i) / (n - i), computed in floats
        steps = np.arange(min(k, n))
        miss = np.prod(np.clip((n - positives[:, None] - steps) / (n - steps), 0.0, 1.0), axis=1)
        out[str(k)] = round(float(np.mean(1.0 - miss)), 4)
    return out

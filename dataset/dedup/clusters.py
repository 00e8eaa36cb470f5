"""Clusters of confirmed duplicates and which member of each to keep.

The confirmed pairs form a graph; its connected components are the clusters
(``scipy.sparse.csgraph``, linear in the pairs). One row per cluster is kept, chosen
by the configurable keep rule: an ordered list of criteria from :data:`CRITERIA`,
the first deciding and the next ones breaking ties, the image path last so the
choice never depends on row order.

>>> import numpy as np
>>> components(4, np.array([0]), np.array([2])).tolist()
[0, 1, 0, 2]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd


def components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Component label (0..k-1, in order of first appearance) of each of ``n`` nodes."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(left), np.int8), (left, right)), shape=(n, n))
    _count, labels = connected_components(graph, directed=False)
    # Renumber by first appearance: stable ids that read well in reports.
    _unique, first = np.unique(labels, return_index=True)
    rank = np.empty(len(first), np.int64)
    rank[np.argsort(np.argsort(first))] = np.arange(len(first))
    return rank[labels]


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame[name] if name in frame else pd.Series(np.nan, index=frame.index)


# Each criterion maps the manifest rows to a sort key: smaller is better.
CRITERIA: dict[str, Callable[[pd.DataFrame], pd.Series]] = {
    # The retailer's own studio shot beats a marketplace photo of it.
    "prefer_catalogue": lambda f: (_column(f, "source") != "catalogue").astype(int),
    # More pixels: the better copy to train on (area from the image header).
    "larger_image": lambda f: (
        -(
            pd.to_numeric(_column(f, "width"), errors="coerce").fillna(0)
            * pd.to_numeric(_column(f, "height"), errors="coerce").fillna(0)
        )
    ),
    # The first listing is the original; relists come later.
    "older_listing": lambda f: pd.to_datetime(
        _column(f, "fetched_at"), errors="coerce", utc=True
    ).fillna(pd.Timestamp.max.tz_localize("UTC")),
    "image_path": lambda f: _column(f, "image_path").astype(str),
}


def keep_mask(frame: pd.DataFrame, cluster: pd.Series, rule: Sequence[str]) -> pd.Series:
    """``True`` on the one row kept per cluster (negative clusters: never kept)."""
    keys = {f"_k{i}": CRITERIA[name](frame) for i, name in enumerate(rule)}
    keys[f"_k{len(rule)}"] = CRITERIA["image_path"](frame)
    ranked = pd.DataFrame({"_cluster": cluster, **keys}, index=frame.index)
    ranked["_row"] = np.arange(len(frame))
    ranked = ranked.sort_values(["_cluster", *keys, "_row"])
    first = ~ranked["_cluster"].duplicated()
    kept = pd.Series(False, index=frame.index)
    kept.loc[ranked.index[first.to_numpy()]] = True
    return kept & (cluster >= 0)

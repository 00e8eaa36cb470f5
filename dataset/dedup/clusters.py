"""Clusters of confirmed duplicates that cannot chain, and which member of each to keep.

Connected components of pairwise matches are unsafe on look-alike products: A~B and
B~C put A and C in one cluster although nothing checked A against C, and a few false
pairs chain hundreds of distinct garments into one cluster of which one photo is kept.
Here a photo joins a cluster only through confirmed pairs with the photo the cluster
keeps and (by default) with every member taken before it: the photos are visited best
first by the keep rule; an unassigned photo becomes a keeper and takes the unassigned
photos confirmed against it, best first. A member is therefore always verified against
the photo that replaces it, and a distinct product loses its photo only through a false
pair with a keeper directly.

Some photos may never share a cluster, whatever their scores: the photos of one listing
(a catalogue product's views, a marketplace item's photos: the front and the back of one
garment are views, not copies) and, by default, the photos of two catalogue products.
Each such rule is a code per photo (:func:`listing_codes`, :func:`catalogue_codes`): a
cluster holds at most one photo of each code.

The keep rule is an ordered list of criteria from :data:`CRITERIA`, the first deciding
and the next ones breaking ties, the image path last so the choice never depends on
row order.

A chain 0~1~2 where 1 is kept first: 0 and 2 join 1 only if confirmed against each other.

>>> left, right = np.array([0, 1]), np.array([1, 2])
>>> star_clusters(4, left, right, np.array([1, 0, 2, 3])).tolist()
[0, 0, 1, 2]
>>> star_clusters(4, left, right, np.array([1, 0, 2, 3]), link="keeper").tolist()
[0, 0, 0, 1]

A pair no one scored (0 and 2 were never candidates) is asked of ``confirm``, also
when the keeper is 0 and 2 is found through member 1:

>>> star_clusters(4, left, right, np.array([1, 0, 2, 3]), confirm=lambda i, j: True).tolist()
[0, 0, 0, 1]
>>> star_clusters(4, left, right, np.array([0, 1, 2, 3]), confirm=lambda i, j: True).tolist()
[0, 0, 0, 1]
>>> star_clusters(4, left, right, np.array([0, 1, 2, 3]), confirm=lambda i, j: False).tolist()
[0, 0, 1, 2]

Photos 0 and 2 are views of one listing: whatever confirms them, they stay apart.

>>> listing = np.array([7, -1, 7, -1])
>>> star_clusters(4, left, right, np.array([1, 0, 2, 3]), "keeper", [listing]).tolist()
[0, 0, 1, 2]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

LINKS = ("every_member", "keeper")


def star_clusters(
    n: int,
    left: np.ndarray,
    right: np.ndarray,
    rank: np.ndarray,
    link: str = "every_member",
    exclusive: Sequence[np.ndarray] = (),
    confirm: Callable[[int, int], bool] | None = None,
) -> np.ndarray:
    """Cluster (0..k-1, in order of the keepers' rank) of each of ``n`` nodes.

    ``(left[k], right[k])`` are confirmed pairs, ``rank`` the keep order of each node
    (smaller is kept first). ``link="keeper"``: a cluster is its keeper and the free
    nodes confirmed against it. ``link="every_member"``: a free node confirmed against
    the keeper joins only if it is also confirmed against every member taken so far, so
    two look-alikes of one keeper that differ from each other never share a cluster.
    Each array of ``exclusive`` gives a code per node (-1: none); a cluster holds at most
    one node of each code. ``confirm(i, j)``, where given, is asked about a pair the
    member test needs and ``left``/``right`` lack: two edited copies of one photo are
    often no candidate pair (their edits add up), and "never checked" is not "different".
    """
    if link not in LINKS:
        raise ValueError(f"unknown cluster link {link!r}; expected one of {LINKS}")
    labels = np.full(n, -1, np.int64)
    ends = np.concatenate([left, right]).astype(np.int64)
    others = np.concatenate([right, left]).astype(np.int64)
    by_node = np.lexsort((rank[others], ends)) if len(ends) else np.empty(0, np.int64)
    ends, others = ends[by_node], others[by_node]
    starts = np.searchsorted(ends, np.arange(n + 1))
    confirmed = set((ends * n + others).tolist()) if link == "every_member" else set()
    codes = np.stack(list(exclusive)) if len(exclusive) else np.full((0, n), -1, np.int64)
    cluster = 0
    for node in np.argsort(rank, kind="stable").tolist():
        if labels[node] >= 0:
            continue
        labels[node] = cluster
        # Best ranked first; with ``confirm``, the neighbours of members come next: a
        # copy whose pair with the keeper stage 1 missed is still found (and verified
        # against the keeper and every member like any other).
        queue = list(dict.fromkeys(others[starts[node] : starts[node + 1]].tolist()))
        seen = {node, *queue}
        taken = {(k, c) for k, c in enumerate(codes[:, node].tolist()) if c >= 0}
        members = [node]
        while queue:
            candidate = queue.pop(0)
            if labels[candidate] >= 0:
                continue
            mine = {(k, c) for k, c in enumerate(codes[:, candidate].tolist()) if c >= 0}
            if mine & taken:
                continue
            if link == "every_member" and not all(
                candidate * n + member in confirmed
                or (confirm is not None and confirm(candidate, member))
                for member in members
            ):
                continue
            members.append(candidate)
            labels[candidate] = cluster
            taken |= mine
            if link == "every_member" and confirm is not None:
                found = others[starts[candidate] : starts[candidate + 1]].tolist()
                queue.extend(other for other in dict.fromkeys(found) if other not in seen)
                seen.update(found)
        cluster += 1
    return labels


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame[name] if name in frame else pd.Series(np.nan, index=frame.index)


def is_catalogue(frame: pd.DataFrame) -> pd.Series:
    """``source == "catalogue"``, ``False`` where missing (pd.NA of nullable dtypes too)."""
    return _column(frame, "source").astype(object).eq("catalogue").fillna(False).astype(bool)


def as_text(column: pd.Series) -> pd.Series:
    """Values as ``str`` or ``None``: pd.NA, NaN and None of any (nullable) dtype alike."""
    values = [None if pd.isna(value) else str(value) for value in column.astype(object)]
    return pd.Series(values, index=column.index, dtype=object)


def listing_codes(frame: pd.DataFrame) -> np.ndarray:
    """A code per row naming its listing (-1: unknown): a catalogue row's ``product_id``,
    a marketplace row's ``site`` and ``item_id``. Photos of one listing are its views."""
    rows = zip(
        is_catalogue(frame),
        as_text(_column(frame, "product_id")),
        as_text(_column(frame, "site")),
        as_text(_column(frame, "item_id")),
        strict=True,
    )
    keys = [
        (("catalogue", product) if is_shop else (site, item))
        if (product if is_shop else site and item) is not None
        else None
        for is_shop, product, site, item in rows
    ]
    codes, _uniques = pd.factorize(pd.Series(keys, dtype=object), use_na_sentinel=True)
    return codes.astype(np.int64)


def catalogue_codes(frame: pd.DataFrame) -> np.ndarray:
    """0 on catalogue rows with a ``product_id``, -1 elsewhere: with :func:`listing_codes`,
    at most one catalogue product per cluster (two products are never merged)."""
    product = as_text(_column(frame, "product_id")).where(is_catalogue(frame), None)
    return np.where(product.notna(), 0, -1).astype(np.int64)


def _numeric(frame: pd.DataFrame, name: str) -> pd.Series:
    values = pd.to_numeric(_column(frame, name).astype(object), errors="coerce")
    return values.astype(float).fillna(0.0)


# Each criterion maps the manifest rows to a sort key: smaller is better. Columns may hold
# pd.NA (nullable dtypes): every key is a plain numpy dtype without missing values.
CRITERIA: dict[str, Callable[[pd.DataFrame], pd.Series]] = {
    # The retailer's own studio shot beats a marketplace photo of it.
    "prefer_catalogue": lambda f: (~is_catalogue(f)).astype(int),
    # More pixels: the better copy to train on (area from the image header).
    "larger_image": lambda f: -(_numeric(f, "width") * _numeric(f, "height")),
    # The first listing is the original; relists come later.
    "older_listing": lambda f: pd.to_datetime(
        _column(f, "fetched_at").astype(object), errors="coerce", utc=True
    ).fillna(pd.Timestamp.max.tz_localize("UTC")),
    "image_path": lambda f: _column(f, "image_path").astype(object).astype(str),
}


def keep_rank(frame: pd.DataFrame, rule: Sequence[str]) -> np.ndarray:
    """Position of each row in the keep order (0: kept first); ties broken by path, row."""
    keys = {f"_k{i}": CRITERIA[name](frame) for i, name in enumerate(rule)}
    keys[f"_k{len(rule)}"] = CRITERIA["image_path"](frame)
    ranked = pd.DataFrame(keys, index=frame.index)
    ranked["_row"] = np.arange(len(frame))
    order = ranked.sort_values([*keys, "_row"])["_row"].to_numpy()
    rank = np.empty(len(frame), np.int64)
    rank[order] = np.arange(len(frame))
    return rank


def keep_mask(cluster: pd.Series, rank: np.ndarray) -> pd.Series:
    """``True`` on the best-ranked row of each cluster (negative clusters: never kept)."""
    ordered = pd.DataFrame({"_cluster": cluster.to_numpy(), "_rank": rank}, index=cluster.index)
    first = ~ordered.sort_values("_rank")["_cluster"].duplicated()
    kept = pd.Series(False, index=cluster.index)
    kept.loc[first[first].index] = True
    return kept & (cluster >= 0)

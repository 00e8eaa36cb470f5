"""The dedup stage: manifest in, manifest with ``dup_cluster`` and ``dup_keep`` out.

1. hash every image (cached by content), identical bytes pair up at once;
2. near pairs of the hashes (each hash kind searched, candidates united);
3. stage 2 verifies each candidate pair;
4. clusters that cannot chain (a photo joins the photo kept and every member only when
   confirmed against them), one row kept per cluster by the keep rule.

Writes ``<out>/duplicates.parquet`` (confirmed pairs, their scores and what each did)
and the hash cache. Bad images are counted, listed in the summary and marked
``dup_cluster = -1``, ``dup_keep = False``: the caller drops them with the duplicates.
"""

from __future__ import annotations

import logging
import os
import resource
import tempfile
import time
from typing import Any

import numpy as np
import pandas as pd

from dataset.core.errors import UserError
from dataset.core.store import Store
from dataset.dedup.clusters import (
    as_text,
    catalogue_codes,
    keep_mask,
    keep_rank,
    listing_codes,
    star_clusters,
)
from dataset.dedup.config import DedupConfig
from dataset.dedup.hashing import chroma_grids, compute_hashes
from dataset.dedup.search import nearest_of_either, nearest_pairs
from dataset.dedup.verify import SCORES, OnDemandVerifier, chroma_distances, verify_pairs

logger = logging.getLogger(__name__)

# duplicates.parquet: one row per confirmed pair. The first 11 columns are the stable
# ones the report reads; the rest say what the pair did (docs/architecture.md).
PAIR_COLUMNS = [
    "image_path_a", "image_path_b", "method", "ncc", "edge_ncc", "shift", "chroma",
    "source_a", "source_b", "cross_source", "merged",
    "matches", "inliers", "inlier_ratio", "warped_edge_ncc", "unmatched_edges",
    "uncovered_edges", "recoloured", "decision", "dup_cluster", "kept_path", "removed_path",
]  # fmt: skip
# decision: ``clustered`` (both in one cluster: one was verified against the other or
# against the photo the cluster keeps), ``chain_refused`` (confirmed, but one of them
# already belongs to another keeper: joining would chain), ``same_listing`` (two views of
# one catalogue product or marketplace item: never merged), ``distinct_products`` (photos
# of two different catalogue products: never merged).


def find_duplicates(
    store: Store,
    manifest: pd.DataFrame,
    config: DedupConfig,
    *,
    out: str,
    progress: bool = False,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Add ``dup_cluster`` (int) and ``dup_keep`` (bool) to ``manifest``.

    ``manifest`` needs ``image_path`` (a key of ``store``); ``source``, ``width``/
    ``height`` and ``fetched_at`` feed the keep rule when present. ``out`` is the
    dataset folder (a key prefix) that receives ``duplicates.parquet`` and, unless
    ``config.hash_cache_key`` says otherwise, ``hashes.parquet``. The summary holds the
    counts, the timings (wall clock; ``cpu_timings``: CPU seconds of this process and its
    workers, which a machine shared with other jobs does not inflate) and ``bad_images``
    (``[{"image_path", "reason"}]``).
    """
    if "image_path" not in manifest.columns:
        raise UserError("manifest has no 'image_path' column (store keys of the images)")
    frame = manifest.reset_index(drop=True).copy()
    clock = _Stopwatch()
    # Stage 1 leaves each image's pixels at feature_side here: stage 2 and the clusters'
    # own verification do not decode again.
    with tempfile.TemporaryDirectory(prefix="dedup-pixels-") as spill_folder:
        hashes, hash_counts = compute_hashes(
            store,
            frame["image_path"].astype(str).tolist(),
            config.hashes,
            cache_key=config.hash_cache_key or f"{out.rstrip('/')}/hashes.parquet",
            feature_side=config.feature_side,
            max_pixels=config.max_pixels,
            workers=config.workers,
            spill_folder=spill_folder if config.verify else None,
            progress=progress,
        )
        clock.lap("hashing")

        good = hashes[hashes["bad"].isna()].reset_index(drop=True)
        paths = good["image_path"].tolist()
        spilled = good["pixels"].tolist()  # where stage 1 left each image's pixels, or None
        # One representative per distinct content; identical bytes are duplicates outright.
        rep = good.groupby("sha1", sort=False).ngroup().to_numpy()
        first_of = pd.Series(np.arange(len(good))).groupby(rep).transform("min").to_numpy()
        same = np.flatnonzero(first_of != np.arange(len(good)))
        reps = np.unique(first_of)

        grids = chroma_grids(good)
        cand_left, cand_right = _candidates(good.loc[reps], grids[reps], config)
        cand_left, cand_right = reps[cand_left], reps[cand_right]
        clock.lap("search")

        if config.verify:
            scores = verify_pairs(
                store, paths, cand_left, cand_right, config, chroma=grids,
                spilled=spilled, progress=progress,
            )  # fmt: skip
            # Past the chroma gate: the pairs whose images' views were made and compared.
            verified = int((scores["chroma"] <= config.max_chroma).sum())
        else:
            scores = pd.DataFrame({"confirmed": np.ones(len(cand_left), bool)})
            verified = 0
        clock.lap("verify")
        confirmed = scores["confirmed"].to_numpy()

        # Reported pairs: identical bytes, then the confirmed candidates (between contents).
        left = np.concatenate([first_of[same], cand_left[confirmed]])
        right = np.concatenate([same, cand_right[confirmed]])
        # One row per image: what the pairs need to know of it (source, product).
        by_path = frame.drop_duplicates("image_path").set_index("image_path")
        for column in ("width", "height"):
            if column not in frame:
                frame[column] = frame["image_path"].map(dict(zip(paths, good[column], strict=True)))
        rank = keep_rank(frame, config.keep_rule)
        node_rank = pd.Series(rank).groupby(frame["image_path"].to_numpy()).min().reindex(paths)
        edge_left, edge_right = _cluster_edges(
            cand_left[confirmed], cand_right[confirmed], first_of, node_rank.to_numpy()
        )
        # Photos that never share a cluster: one listing's views; two catalogue products.
        nodes = by_path.reindex(paths)
        exclusive = {"same_listing": listing_codes(nodes)}
        if config.distinct_products:
            exclusive["distinct_products"] = catalogue_codes(nodes)
        # Member pairs stage 1 never proposed are verified when the clusters need them.
        on_demand = (
            OnDemandVerifier(store, paths, config, first_of, cand_left, cand_right, spilled)
            if config.verify
            else None
        )
        labels = star_clusters(
            len(good), edge_left, edge_right, node_rank.to_numpy(), config.cluster_link,
            list(exclusive.values()), on_demand,
        )  # fmt: skip
        clock.lap("cluster")

    path_cluster = dict(zip(paths, labels.tolist(), strict=True))
    frame["dup_cluster"] = frame["image_path"].map(path_cluster).fillna(-1).astype(int)
    frame["dup_keep"] = keep_mask(frame["dup_cluster"], rank)
    for column in ("width", "height"):
        if column not in manifest.columns:
            frame = frame.drop(columns=column)

    kept_path = frame.loc[frame["dup_keep"]].set_index("dup_cluster")["image_path"]
    pairs = _pair_table(by_path, paths, left, right, scores[confirmed], len(same))
    pairs = _decisions(pairs, left, right, labels, exclusive, kept_path)
    store.write_parquet(f"{out.rstrip('/')}/duplicates.parquet", pairs)

    bad = hashes[hashes["bad"].notna()]
    sizes = frame.loc[frame["dup_cluster"] >= 0, "dup_cluster"].value_counts()
    summary: dict[str, Any] = {
        "images": int(len(hashes)),
        "rows": int(len(frame)),
        **hash_counts,
        "hash_kinds": list(config.hashes),
        "radius": {kind: config.radius_of(kind) for kind in config.hashes},
        "identical_bytes_pairs": int(len(same)),
        "candidate_pairs": int(len(cand_left)),
        "verified_pairs": verified,
        "confirmed_pairs": int(confirmed.sum()),
        "clusters_with_duplicates": int((sizes > 1).sum()),
        "rows_removed": int((~frame["dup_keep"]).sum() - (frame["dup_cluster"] < 0).sum()),
        "cross_source_pairs": int(pairs["cross_source"].sum()),
        "lookalike_product_pairs": int((pairs["decision"] == "distinct_products").sum()),
        "same_listing_pairs": int((pairs["decision"] == "same_listing").sum()),
        "chain_refused_pairs": int((pairs["decision"] == "chain_refused").sum()),
        "on_demand_pairs": on_demand.verified if on_demand else 0,
        "on_demand_confirmed": on_demand.confirmed if on_demand else 0,
        "bad_images": [
            {"image_path": p, "reason": r}
            for p, r in zip(bad["image_path"], bad["bad"], strict=True)
        ],
        "timings": {f"{k}_s": round(v, 3) for k, v in clock.wall.items()},
        "cpu_timings": {f"{k}_s": round(v, 3) for k, v in clock.cpu.items()},
    }
    logger.info(
        "dedup: %d candidates, %d confirmed, %d rows removed, %d bad images",
        summary["candidate_pairs"],
        summary["confirmed_pairs"],
        summary["rows_removed"],
        len(summary["bad_images"]),
    )
    return frame, summary


class _Stopwatch:
    """Wall-clock and CPU seconds of each stage; CPU of this process, its threads and its
    finished worker processes (a pool's workers are counted once it shuts down)."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self._mark = self._now()

    @staticmethod
    def _now() -> tuple[float, float]:
        own, workers = (
            resource.getrusage(resource.RUSAGE_SELF),
            resource.getrusage(resource.RUSAGE_CHILDREN),
        )
        cpu = own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime
        return time.perf_counter(), cpu

    def lap(self, stage: str) -> None:
        now = self._now()
        self.wall[stage] = now[0] - self._mark[0]
        self.cpu[stage] = now[1] - self._mark[1]
        self._mark = now


def score_candidates(store: Store, image_paths: list[str], config: DedupConfig) -> pd.DataFrame:
    """Every candidate pair of stage 1 with its stage 2 scores (for calibration).

    Columns ``image_path_a, image_path_b``, the scores of :data:`verify.SCORES` and
    ``confirmed`` under ``config``.
    """
    hashes, _counts = compute_hashes(
        store, image_paths, config.hashes, feature_side=config.feature_side,
        max_pixels=config.max_pixels, workers=config.workers,
    )  # fmt: skip
    good = hashes[hashes["bad"].isna()].drop_duplicates("sha1").reset_index(drop=True)
    grids = chroma_grids(good)
    left, right = _candidates(good, grids, config)
    paths = good["image_path"].tolist()
    scores = verify_pairs(store, paths, left, right, config, chroma=grids, every_score=True)
    pairs = pd.DataFrame(
        {"image_path_a": [paths[i] for i in left], "image_path_b": [paths[j] for j in right]}
    )
    return pd.concat([pairs, scores], axis=1)


def _candidates(
    reps: pd.DataFrame, grids: np.ndarray, config: DedupConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs into ``reps`` within the radius for at least one hash kind, whose
    colours pass the chroma gate (``grids``: the chroma grids of ``reps``).

    Per kind, each image keeps its ``max_candidates`` nearest of its own colours; the
    kinds' picks are united (one kind's crowd of look-alikes cannot push out what another
    kind found). The gate comes first: look-alikes of other colours, which stage 2 would
    reject at once, would otherwise fill the cap as the set grows. With
    ``max_united_candidates``, each image then keeps that many of the united pairs, those
    nearest in colour, and its nearest of each kind (a pair kept by either image stays): a
    copy has nearly its original's chroma grid where a look-alike differs in a detail's
    colours, or else (an edit that moves the colours: brightness) its nearest hashes.
    """
    n = max(len(reps), 1)
    workers = config.workers or os.cpu_count() or 1
    keys, nearest_of_kind = [np.empty(0, np.int64)], [np.empty(0, np.int64)]
    for kind in config.hashes:
        left, right, rank = nearest_pairs(
            reps[kind].to_numpy(dtype=np.uint64), config.radius_of(kind), config.max_candidates,
            grids, config.max_chroma, workers=workers,
        )  # fmt: skip
        keys.append(left * n + right)
        nearest_of_kind.append(keys[-1][nearest_of_either(left, right, rank, 1)])
    key = np.unique(np.concatenate(keys))
    left, right = key // n, key % n
    if config.max_united_candidates is None:
        return left, right
    colour = chroma_distances(grids, left, right)
    kept = nearest_of_either(left, right, colour, config.max_united_candidates)
    kept |= np.isin(key, np.concatenate(nearest_of_kind))
    return left[kept], right[kept]


def _cluster_edges(
    left: np.ndarray, right: np.ndarray, first_of: np.ndarray, rank: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The edges clusters are built from, between paths.

    Identical bytes: a star from the best-ranked path of the content to the others (the
    content is one photo). Confirmed pairs between contents: every path of one with
    every path of the other, so whichever copy is the keeper, the pair reaches it.
    """
    order = np.lexsort((rank, first_of))  # by content, best rank first
    best = np.empty(len(first_of), np.int64)
    starts = np.flatnonzero(np.r_[True, first_of[order][1:] != first_of[order][:-1]])
    counts = np.diff(np.r_[starts, len(order)])
    best[order] = np.repeat(order[starts], counts)
    others = np.flatnonzero(best != np.arange(len(first_of)))
    lefts, rights = [best[others], left], [others, right]
    members = {
        int(content): np.flatnonzero(first_of == content) for content in np.unique(first_of[others])
    }
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i in members or j in members:
            grid_a, grid_b = np.meshgrid(
                members.get(i, np.array([i])), members.get(j, np.array([j])), indexing="ij"
            )
            lefts.append(grid_a.ravel())
            rights.append(grid_b.ravel())
    return np.concatenate(lefts), np.concatenate(rights)


def _pair_table(
    by_path: pd.DataFrame,
    paths: list[str],
    left: np.ndarray,
    right: np.ndarray,
    scores: pd.DataFrame,
    identical: int,
) -> pd.DataFrame:
    """Confirmed pairs by image path: scores and whether they cross sources."""
    source = as_text(by_path["source"]) if "source" in by_path else pd.Series(dtype=object)
    table = pd.DataFrame(
        {
            "image_path_a": [paths[i] for i in left],
            "image_path_b": [paths[j] for j in right],
            "method": ["identical"] * identical + ["verified"] * (len(left) - identical),
        }
    )
    for column in SCORES:
        values = scores[column].to_numpy() if column in scores else np.full(len(scores), np.nan)
        table[column] = np.concatenate([np.full(identical, np.nan), values]).astype(float)
    table["source_a"] = table["image_path_a"].map(source).astype(object)
    table["source_b"] = table["image_path_b"].map(source).astype(object)
    table["cross_source"] = (
        table["source_a"].notna()
        & table["source_b"].notna()
        & (table["source_a"] != table["source_b"])
    ).astype(bool)
    return table


def _decisions(
    table: pd.DataFrame,
    left: np.ndarray,
    right: np.ndarray,
    labels: np.ndarray,
    exclusive: dict[str, np.ndarray],
    kept_path: pd.Series,
) -> pd.DataFrame:
    """What each confirmed pair ``(left[k], right[k])`` did (see ``PAIR_COLUMNS``)."""
    same = labels[left] == labels[right]
    decision = np.where(same, "clustered", "chain_refused").astype(object)
    for reason, codes in exclusive.items():
        a, b = codes[left], codes[right]
        decision[(decision == "chain_refused") & (a >= 0) & (a == b)] = reason
    table["merged"] = same
    table["decision"] = decision
    table["dup_cluster"] = np.where(same, labels[left], -1).astype(np.int64)
    table["kept_path"] = table["dup_cluster"].map(kept_path).astype(object)
    table["removed_path"] = [
        None if not s else (b if a == k else a if b == k else None)
        for s, a, b, k in zip(
            same, table["image_path_a"], table["image_path_b"], table["kept_path"], strict=True
        )
    ]
    return table[PAIR_COLUMNS]

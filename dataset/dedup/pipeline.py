"""The dedup stage: manifest in, manifest with ``dup_cluster`` and ``dup_keep`` out.

1. hash every image (cached by content), identical bytes pair up at once;
2. near pairs of the hashes (each hash kind searched, candidates united);
3. stage 2 verifies each candidate pair;
4. clusters of the confirmed graph, one row kept per cluster by the keep rule.

Writes ``<out>/duplicates.parquet`` (confirmed pairs with their scores, for the report)
and the hash cache. Bad images are counted, listed in the summary and marked
``dup_cluster = -1``, ``dup_keep = False``: the caller drops them with the duplicates.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import pandas as pd

from dataset.core.errors import UserError
from dataset.core.store import Store
from dataset.dedup.clusters import components, keep_mask
from dataset.dedup.config import DedupConfig
from dataset.dedup.hashing import compute_hashes
from dataset.dedup.search import near_pairs
from dataset.dedup.verify import verify_pairs

logger = logging.getLogger(__name__)

PAIR_COLUMNS = [
    "image_path_a", "image_path_b", "method", "ncc", "edge_ncc", "shift", "chroma",
    "source_a", "source_b", "cross_source", "merged",
]  # fmt: skip


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
    counts, the timings and ``bad_images`` (``[{"image_path", "reason"}]``).
    """
    if "image_path" not in manifest.columns:
        raise UserError("manifest has no 'image_path' column (store keys of the images)")
    frame = manifest.reset_index(drop=True).copy()
    timings: dict[str, float] = {}
    started = time.perf_counter()
    hashes, hash_counts = compute_hashes(
        store,
        frame["image_path"].astype(str).tolist(),
        config.hashes,
        cache_key=config.hash_cache_key or f"{out.rstrip('/')}/hashes.parquet",
        decode_size=config.decode_size,
        max_pixels=config.max_pixels,
        workers=config.workers,
        progress=progress,
    )
    timings["hashing_s"] = time.perf_counter() - started

    good = hashes[hashes["bad"].isna()].reset_index(drop=True)
    paths = good["image_path"].tolist()
    # One representative per distinct content; identical bytes are duplicates outright.
    rep = good.groupby("sha1", sort=False).ngroup().to_numpy()
    first_of = pd.Series(np.arange(len(good))).groupby(rep).transform("min").to_numpy()
    same = np.flatnonzero(first_of != np.arange(len(good)))
    reps = np.unique(first_of)

    started = time.perf_counter()
    cand_left, cand_right = _candidates(good.loc[reps], config)
    cand_left, cand_right = reps[cand_left], reps[cand_right]
    timings["search_s"] = time.perf_counter() - started

    started = time.perf_counter()
    if config.verify:
        scores = verify_pairs(store, paths, cand_left, cand_right, config, progress=progress)
    else:
        scores = pd.DataFrame({"confirmed": np.ones(len(cand_left), bool)})
    timings["verify_s"] = time.perf_counter() - started
    confirmed = scores["confirmed"].to_numpy()

    left = np.concatenate([first_of[same], cand_left[confirmed]])
    right = np.concatenate([same, cand_right[confirmed]])
    # One row per image: what the pairs need to know of it (source, product).
    by_path = frame.drop_duplicates("image_path").set_index("image_path")
    merged = (
        ~_different_products(by_path, paths, left, right)
        if config.distinct_products
        else np.ones(len(left), bool)
    )
    labels = components(len(good), left[merged], right[merged])

    path_cluster = dict(zip(paths, labels.tolist(), strict=True))
    frame["dup_cluster"] = frame["image_path"].map(path_cluster).fillna(-1).astype(int)
    for column in ("width", "height"):
        if column not in frame:
            frame[column] = frame["image_path"].map(dict(zip(paths, good[column], strict=True)))
    frame["dup_keep"] = keep_mask(frame, frame["dup_cluster"], config.keep_rule)
    for column in ("width", "height"):
        if column not in manifest.columns:
            frame = frame.drop(columns=column)

    pairs = _pair_table(by_path, paths, left, right, scores[confirmed], len(same), merged)
    store.write_parquet(f"{out.rstrip('/')}/duplicates.parquet", pairs)

    bad = hashes[hashes["bad"].notna()]
    sizes = frame.loc[frame["dup_cluster"] >= 0, "dup_cluster"].value_counts()
    summary: dict[str, Any] = {
        "images": int(len(hashes)),
        "rows": int(len(frame)),
        **hash_counts,
        "hash_kinds": list(config.hashes),
        "radius": config.radius,
        "identical_bytes_pairs": int(len(same)),
        "candidate_pairs": int(len(cand_left)),
        "confirmed_pairs": int(confirmed.sum()),
        "clusters_with_duplicates": int((sizes > 1).sum()),
        "rows_removed": int((~frame["dup_keep"]).sum() - (frame["dup_cluster"] < 0).sum()),
        "cross_source_pairs": int(pairs["cross_source"].sum()),
        "lookalike_product_pairs": int((~merged).sum()),
        "bad_images": [
            {"image_path": p, "reason": r}
            for p, r in zip(bad["image_path"], bad["bad"], strict=True)
        ],
        "timings": {k: round(v, 3) for k, v in timings.items()},
    }
    logger.info(
        "dedup: %d candidates, %d confirmed, %d rows removed, %d bad images",
        summary["candidate_pairs"],
        summary["confirmed_pairs"],
        summary["rows_removed"],
        len(summary["bad_images"]),
    )
    return frame, summary


def _candidates(reps: pd.DataFrame, config: DedupConfig) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs into ``reps`` within the radius for at least one hash kind."""
    keys = []
    for kind in config.hashes:
        values = reps[kind].to_numpy(dtype=np.uint64)
        left, right, _dist = near_pairs(values, config.radius, workers=config.workers or 1)
        keys.append(left * len(reps) + right)
    key = np.unique(np.concatenate(keys)) if keys else np.empty(0, np.int64)
    return key // max(len(reps), 1), key % max(len(reps), 1)


def _different_products(
    by_path: pd.DataFrame, paths: list[str], left: np.ndarray, right: np.ndarray
) -> np.ndarray:
    """Whether each pair joins photos of two different catalogue products."""
    if "product_id" not in by_path or "source" not in by_path:
        return np.zeros(len(left), bool)
    catalogue = by_path["product_id"].where(by_path["source"] == "catalogue")
    product = catalogue.reindex(paths).to_numpy(dtype=object)
    a, b = product[left], product[right]
    return np.asarray(pd.notna(a) & pd.notna(b) & (a != b), dtype=bool)


def _pair_table(
    by_path: pd.DataFrame,
    paths: list[str],
    left: np.ndarray,
    right: np.ndarray,
    scores: pd.DataFrame,
    identical: int,
    merged: np.ndarray,
) -> pd.DataFrame:
    """Confirmed pairs by image path: scores, whether they cross sources, were clustered."""
    source = by_path["source"] if "source" in by_path else pd.Series(dtype=object)
    table = pd.DataFrame(
        {
            "image_path_a": [paths[i] for i in left],
            "image_path_b": [paths[j] for j in right],
            "method": ["identical"] * identical + ["verified"] * (len(left) - identical),
        }
    )
    for column in ("ncc", "edge_ncc", "shift", "chroma"):
        values = scores[column].to_numpy() if column in scores else np.full(len(scores), np.nan)
        table[column] = np.concatenate([np.full(identical, np.nan), values]).astype(float)
    table["source_a"] = table["image_path_a"].map(source)
    table["source_b"] = table["image_path_b"].map(source)
    table["cross_source"] = (table["source_a"].notna() & table["source_b"].notna()) & (
        table["source_a"] != table["source_b"]
    )
    table["merged"] = merged
    return table[PAIR_COLUMNS]

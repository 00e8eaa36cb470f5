"""The two evaluation sets of the dedup benchmark, their stores and cluster-level metrics.

Not a benchmark itself: ``bench/dedup_bench.py`` and its ``--calibrate`` step use it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dataset.core.store import Store
from dataset.synthetic.lookalikes import make_lookalike_set
from dataset.synthetic.near_duplicates import NearDuplicateSet, make_near_duplicate_set


@dataclass
class EvalSet:
    label: str
    bench: NearDuplicateSet
    manifest: pd.DataFrame
    name_of: dict[str, str]  # store key -> image name


def lookalike_set(photos: int, seed: int) -> NearDuplicateSet:
    """The independent set: families of 5 look-alikes, 0.6 copies per photo."""
    return make_lookalike_set(n_families=max(1, photos // 5), family_size=5,
                              copies_per_image=0.6, seed=seed)  # fmt: skip


def demo_family_set(photos: int, seed: int) -> NearDuplicateSet:
    """The first generator's set: families of 4, one copy each, 256 px."""
    return make_near_duplicate_set(n_families=max(1, photos // 4), family_size=4,
                                   copies_per_image=1.0, size=(256, 256), seed=seed)  # fmt: skip


SETS: dict[str, Callable[[int, int], NearDuplicateSet]] = {
    "look-alikes (dataset.synthetic.lookalikes)": lookalike_set,
    "demo families (dataset.synthetic.near_duplicates)": demo_family_set,
}


def store_set(store: Store, label: str, bench: NearDuplicateSet, prefix: str) -> EvalSet:
    name_of = {}
    for name, data in bench.images.items():
        key = f"{prefix}/{name}.jpg"
        store.write_bytes(key, data)
        name_of[key] = name
    manifest = pd.DataFrame({"image_path": list(name_of), "source": "marketplace"})
    return EvalSet(label, bench, manifest, name_of)


def truth_of(evalset: EvalSet, a: pd.Series, b: pd.Series) -> np.ndarray:
    group = evalset.bench.group
    names = evalset.name_of
    return np.array([group[names[x]] == group[names[y]] for x, y in zip(a, b, strict=True)])


def cluster_metrics(evalset: EvalSet, frame: pd.DataFrame) -> dict[str, Any]:
    """Pairwise precision and recall of the clusters, and products left without a photo."""
    bench = evalset.bench
    names = frame["image_path"].map(evalset.name_of)
    group = names.map(bench.group)
    truth = bench.true_pairs()
    found: set[tuple[str, str]] = set()
    for _cluster, members in names.groupby(frame["dup_cluster"].to_numpy()):
        ordered = sorted(members)
        found.update((a, b) for i, a in enumerate(ordered) for b in ordered[i + 1 :])
    hits = found & truth
    kinds: dict[str, list[bool]] = {}
    for pair in truth:
        kinds.setdefault(bench.pair_kind(*pair), []).append(pair in found)
    kept_groups = set(group[frame["dup_keep"].to_numpy()])
    return {
        "recall": len(hits) / max(len(truth), 1),
        "precision": len(hits) / max(len(found), 1),
        "false_pairs": len(found - truth),
        "orphaned": len(set(group) - kept_groups),
        "products": len(set(group)),
        "largest": int(frame["dup_cluster"].value_counts().max()),
        **{f"recall_{k}": float(np.mean(v)) for k, v in sorted(kinds.items())},
    }

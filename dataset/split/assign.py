"""Train/val/test split, stratified by type and grouped so that nothing leaks.

Rows are joined into groups that must land in the same split (union-find over the
``group_by`` columns): the same duplicate cluster (``dup_cluster``), the same garment
seen from both sides (``pair_id``: a user photo and its shop photos, so retrieval test
queries find their match in the test gallery and the garment is never trained on), and
the photos of one listing or product (``item_id`` scoped by ``site``, ``product_id``).
Groups are then dealt to splits per stratum (the most common ``stratify_by`` label of
the group; groups holding a user-shop pair form strata of their own, so every split gets
its share of pairs and the retrieval evaluation has test queries), largest group first, each to the split furthest below its target share;
ties are broken by a seeded shuffle, so a split is reproducible from its seed.

>>> import pandas as pd
>>> frame = pd.DataFrame({"type": [["a"]] * 4, "dup_cluster": [0, 0, 1, 2]})
>>> out, _ = split_frame(frame, SplitConfig(fractions={"train": 0.5, "test": 0.5}))
>>> int(out.groupby("dup_cluster")["split"].nunique().max())
1
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

logger = logging.getLogger(__name__)

NO_LABEL = "(none)"
PAIRED_SUFFIX = " (pairs)"


class SplitConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fractions: dict[str, float] = Field(
        default_factory=lambda: {"train": 0.8, "val": 0.1, "test": 0.1}
    )
    stratify_by: str = "type"
    group_by: list[str] = Field(
        default_factory=lambda: ["dup_cluster", "pair_id", "item_id", "product_id"]
    )
    seed: int = 0
    # Deal groups holding a pair_id separately: they are the largest groups, and dealt with
    # the rest, largest first, they would all fill the training split.
    stratify_pairs: bool = True

    @field_validator("fractions")
    @classmethod
    def _fractions_sum_to_one(cls, value: dict[str, float]) -> dict[str, float]:
        if not value or any(f < 0 for f in value.values()):
            raise ValueError("fractions must be non-negative")
        if abs(sum(value.values()) - 1.0) > 1e-6:
            raise ValueError(f"fractions must sum to 1, they sum to {sum(value.values()):g}")
        return value


def _present(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, float) and np.isnan(value):
        return False
    return str(value) != ""


def group_ids(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """A group id per row: rows sharing a non-empty value in any of ``columns``."""
    parent = list(range(len(frame)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for column in columns:
        if column not in frame.columns:
            continue
        values = frame[column].tolist()
        if column == "item_id" and "site" in frame.columns:
            values = [
                f"{s}/{v}" if _present(v) else None
                for s, v in zip(frame["site"], values, strict=True)
            ]
        first: dict[Any, int] = {}
        for row, value in enumerate(values):
            if not _present(value):
                continue
            root = first.setdefault(value, row)
            a, b = find(root), find(row)
            if a != b:
                parent[b] = a
    return np.array([find(i) for i in range(len(frame))], dtype=np.int64)


def _stratum(labels: list[Any]) -> str:
    counts: Counter[str] = Counter()
    for value in labels:
        if value is not None and len(value) > 0:
            counts[str(value[0])] += 1
    return counts.most_common(1)[0][0] if counts else NO_LABEL


def split_frame(frame: pd.DataFrame, config: SplitConfig) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``frame`` with a ``split`` column, and a summary (rows per split and stratum)."""
    out = frame.reset_index(drop=True).copy()
    groups = group_ids(out, config.group_by)
    names = list(config.fractions)
    rng = np.random.default_rng(config.seed)
    members: dict[int, list[int]] = defaultdict(list)
    for row, group in enumerate(groups):
        members[int(group)].append(row)
    labels = out[config.stratify_by].tolist() if config.stratify_by in out else [None] * len(out)
    paired = (
        [_present(v) for v in out["pair_id"]]
        if config.stratify_pairs and "pair_id" in out
        else [False] * len(out)
    )
    strata: dict[str, list[int]] = defaultdict(list)
    for group, rows in members.items():
        stratum = _stratum([labels[r] for r in rows])
        if any(paired[r] for r in rows):
            stratum += PAIRED_SUFFIX
        strata[stratum].append(group)

    assigned = np.empty(len(out), dtype=object)
    per_stratum: dict[str, dict[str, int]] = {}
    for stratum in sorted(strata):
        group_list = strata[stratum]
        order = rng.permutation(len(group_list))
        # Largest groups first leaves the small ones to even out the shares.
        ranked = sorted(order, key=lambda i: -len(members[group_list[i]]))
        total = sum(len(members[g]) for g in group_list)
        filled = dict.fromkeys(names, 0)
        for index in ranked:
            rows = members[group_list[index]]
            deficit = {n: config.fractions[n] * total - filled[n] for n in names}
            target = max(names, key=lambda n: (deficit[n], config.fractions[n]))
            filled[target] += len(rows)
            assigned[rows] = target
        per_stratum[stratum] = filled
    out["split"] = assigned
    counts = out["split"].value_counts()
    summary = {
        "rows": {n: int(counts.get(n, 0)) for n in names},
        "groups": len(members),
        "largest_group": max((len(r) for r in members.values()), default=0),
        "per_stratum": per_stratum,
        "group_by": [c for c in config.group_by if c in out.columns],
    }
    logger.info("split %d rows in %d groups: %s", len(out), len(members), summary["rows"])
    return out, summary

"""Leakage-free splits, capped seeded upsampling and the weighted-loss formula."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dataset.split.assign import SplitConfig, split_frame
from dataset.split.balance import BalanceConfig, rebalance
from dataset.split.weights import WeightsConfig, label_weights
from dataset.taxonomy.tasks import TaskSpec


def random_manifest(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    types = rng.choice(["dresses", "jeans", "polos", "skirts"], size=rows, p=[0.6, 0.25, 0.1, 0.05])
    return pd.DataFrame(
        {
            "image_path": [f"img/{i}.jpg" for i in range(rows)],
            "site": "demo",
            "type": [[t] for t in types],
            "dup_cluster": rng.integers(0, rows // 2, size=rows),  # many multi-image clusters
            "pair_id": [
                f"d{rng.integers(0, rows // 4)}" if rng.random() < 0.3 else None
                for _ in range(rows)
            ],
            "item_id": [f"i{rng.integers(0, rows)}" for _ in range(rows)],
        }
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_cluster_pair_or_listing_crosses_splits(seed: int) -> None:
    frame = random_manifest(600, seed)
    out, summary = split_frame(frame, SplitConfig(seed=seed))
    for column in ("dup_cluster", "pair_id", "item_id"):
        assert out.dropna(subset=[column]).groupby(column)["split"].nunique().max() == 1, column
    assert set(out["split"]) == {"train", "val", "test"}
    assert sum(summary["rows"].values()) == len(frame)


def test_split_is_stratified_seeded_and_follows_fractions() -> None:
    frame = pd.DataFrame(
        {"type": [["dresses"]] * 500 + [["polos"]] * 100, "dup_cluster": range(600)}
    )
    config = SplitConfig(fractions={"train": 0.7, "val": 0.1, "test": 0.2}, seed=5)
    out, _ = split_frame(frame, config)
    table = out.assign(t=out["type"].str[0]).groupby(["t", "split"]).size()
    assert table["dresses"].to_dict() == {"test": 100, "train": 350, "val": 50}
    assert table["polos"].to_dict() == {"test": 20, "train": 70, "val": 10}
    again, _ = split_frame(frame, config)
    assert again["split"].tolist() == out["split"].tolist()
    other, _ = split_frame(frame, config.model_copy(update={"seed": 6}))
    assert other["split"].tolist() != out["split"].tolist()


def test_user_shop_pairs_reach_every_split() -> None:
    """Pair groups (a user photo + two shop views) are the largest: dealt with the other
    groups, largest first, they would all land in train and leave test without queries."""
    pairs = [
        {"image_path": f"{side}/{p}-{k}.jpg", "type": ["dresses"], "pair_id": f"P{p}",
         "domain": "user" if side == "u" else "shop"}
        for p in range(20) for side, k in (("u", 0), ("s", 0), ("s", 1))
    ]  # fmt: skip
    singles = [
        {"image_path": f"x/{i}.jpg", "type": ["dresses"], "pair_id": None, "domain": "shop"}
        for i in range(240)
    ]
    frame = pd.DataFrame(pairs + singles)
    out, summary = split_frame(frame, SplitConfig())
    queries = out[(out["domain"] == "user")].groupby("split").size().to_dict()
    assert queries == {"train": 16, "val": 2, "test": 2}
    assert out.groupby("pair_id")["split"].nunique().max() == 1
    assert "dresses (pairs)" in summary["per_stratum"]
    mixed, _ = split_frame(frame, SplitConfig(stratify_pairs=False))
    assert set(mixed.loc[mixed["domain"] == "user", "split"]) == {"train"}


def test_split_fractions_must_sum_to_one() -> None:
    with pytest.raises(ValueError, match="sum to 1"):
        SplitConfig(fractions={"train": 0.8, "test": 0.1})


def _train_frame(counts: dict[str, int]) -> pd.DataFrame:
    rows = [[cls] for cls, n in counts.items() for _ in range(n)]
    frame = pd.DataFrame({"type": rows, "split": "train"})
    held_out = pd.DataFrame({"type": [["polos"]] * 3, "split": ["val", "test", "val"]})
    return pd.concat([frame, held_out], ignore_index=True)


def test_rebalance_caps_at_two_and_a_half_and_only_touches_train() -> None:
    frame = _train_frame({"dresses": 100, "jeans": 60, "polos": 10, "shorts": 1})
    out, summary = rebalance(frame, BalanceConfig(cap=2.5, seed=3))
    train = out[out["split"] == "train"]
    drawn = train.groupby(train["type"].str[0])["repeat"].sum().to_dict()
    # target is the largest class (100); each class grows to min(100, floor(2.5 n)).
    assert drawn == {"dresses": 100, "jeans": 100, "polos": 25, "shorts": 2}
    assert summary["factors"] == {"dresses": 1.0, "jeans": 1.6667, "polos": 2.5, "shorts": 2.0}
    assert (out.loc[out["split"] != "train", "repeat"] == 1).all()
    assert train["repeat"].max() <= 3  # ceil(2.5): extra draws are spread, never piled up
    assert (train["repeat"] >= 1).all()


def test_rebalance_is_seeded() -> None:
    frame = _train_frame({"dresses": 50, "jeans": 13})
    first, _ = rebalance(frame, BalanceConfig(seed=1))
    same, _ = rebalance(frame, BalanceConfig(seed=1))
    other, _ = rebalance(frame, BalanceConfig(seed=2))
    assert first["repeat"].tolist() == same["repeat"].tolist()
    assert first["repeat"].tolist() != other["repeat"].tolist()
    assert first["repeat"].sum() == other["repeat"].sum()


def test_rebalance_with_a_multi_label_task_uses_the_rarest_label() -> None:
    frame = pd.DataFrame(
        {
            "colour": [["red"]] * 8 + [["red", "blue"]] * 2 + [[]],
            "split": "train",
        }
    )
    out, summary = rebalance(frame, BalanceConfig(task="colour", cap=3))
    # rows with blue count for blue (2 rows, rarer than red's 10): 8 red-only rows stay 1.
    assert out["repeat"].tolist() == [1] * 8 + [3, 3] + [1]
    assert summary["factors"] == {"blue": 3.0, "red": 1.0}


def test_weights_match_hand_computed_values() -> None:
    spec = {
        "colour": TaskSpec("colour", "multi_label", ["red", "blue", "green", "pink"]),
        "type": TaskSpec("type", "single_label", ["dresses", "jeans"]),
    }
    frame = pd.DataFrame(
        {
            "colour": [["red"], ["red", "blue"], ["blue"], ["red"], ["red", "green"]],
            "type": [["dresses"], ["dresses"], ["jeans"], ["dresses"], ["dresses"]],
            "split": ["train"] * 4 + ["val"],
            "repeat": [1, 2, 1, 1, 1],
        }
    )
    weights, warnings = label_weights(frame, spec, WeightsConfig(count_repeats=True))
    # n = 1 + 2 + 1 + 1 = 5 draws; red n_i = 1+2+1 = 4, blue = 2+1 = 3, green/pink = 0.
    colour = weights["tasks"]["colour"]
    assert weights["n_samples"] == 5
    assert colour["counts"] == [4, 3, 0, 0]
    assert colour["present"] == [pytest.approx(5 / 8), pytest.approx(5 / 6), 1.0, 1.0]
    assert colour["absent"] == [pytest.approx(5 / 2), pytest.approx(5 / 4), 0.5, 0.5]
    assert weights["tasks"]["type"]["counts"] == [4, 1]
    assert any("colour/green" in w for w in warnings)
    assert any("colour/pink" in w for w in warnings)

    plain, _ = label_weights(frame, spec, WeightsConfig(count_repeats=False))
    # n = 4 rows; red 3, blue 2.
    assert plain["n_samples"] == 4
    assert plain["tasks"]["colour"]["present"][:2] == [pytest.approx(4 / 6), 1.0]
    assert plain["tasks"]["colour"]["absent"][:2] == [2.0, 1.0]


def test_weights_of_a_label_every_sample_has_do_not_divide_by_zero() -> None:
    spec = {"gender": TaskSpec("gender", "multi_label", ["women", "men"])}
    frame = pd.DataFrame({"gender": [["women"]] * 3, "split": "train"})
    weights, warnings = label_weights(frame, spec)
    assert weights["tasks"]["gender"]["present"] == [0.5, 1.0]
    assert weights["tasks"]["gender"]["absent"] == [1.0, 0.5]
    assert len(warnings) == 2
    assert set(weights) == {"n_samples", "tasks"}
    assert set(weights["tasks"]["gender"]) == {"classes", "counts", "present", "absent"}

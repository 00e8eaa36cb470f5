"""Top-k accuracy, exact and IVF search, combination of encodings: pure numpy, no model."""

from __future__ import annotations

import numpy as np
import pytest

from dataset.core.errors import UserError
from training.retrieval.embed import Combination, combine
from training.retrieval.knn import IVF, exact_topk
from training.retrieval.metrics import best_positive_ranks, chance_topk, topk_accuracy
from training.retrieval.sources import split_dataset_uri


def unit(*angles_deg: float) -> np.ndarray:
    a = np.radians(angles_deg)
    return np.stack([np.cos(a), np.sin(a)], axis=1).astype(np.float32)


# Gallery on the unit circle; cosine with a query at angle q is cos(g - q).
GALLERY = unit(0, 10, 20, 30, 90)
GALLERY_KEYS = ["a", "x", "y", "c", "b"]
QUERIES = unit(0, 0, 15, 45)
QUERY_KEYS = [
    "a",  # positive at 0 deg: rank 1
    "c",  # positive at 30 deg; negatives at 0, 10, 20 are closer: rank 4
    "y",  # at 15 deg: negative at 10 ties the positive at 20, ties count against: rank 2
    "zzz",  # no positive in the gallery
]


def test_ranks_and_topk_match_hand_computation() -> None:
    ranks = best_positive_ranks(QUERIES, GALLERY, QUERY_KEYS, GALLERY_KEYS)
    assert ranks.tolist() == [1, 4, 2, 0]
    report = topk_accuracy(ranks, [1, 2, 4, 10], categories=["t", "t", "j", "j"])
    assert report["queries"] == 4 and report["evaluated"] == 3
    assert report["no_gallery_match"] == 1
    # k=10 is larger than the 5-image gallery: every query with a positive is a hit.
    assert report["top_k"] == {"1": 1 / 3, "2": 2 / 3, "4": 1.0, "10": 1.0}
    assert report["per_category"]["t"]["top_k"]["1"] == 0.5
    assert report["per_category"]["j"]["evaluated"] == 1
    assert report["per_category"]["j"]["no_gallery_match"] == 1


def test_unmatched_queries_can_count_as_misses() -> None:
    report = topk_accuracy(np.array([1, 4, 2, 0]), [1, 10], unmatched="miss")
    assert report["evaluated"] == 4
    assert report["top_k"] == {"1": 0.25, "10": 0.75}


def test_tie_between_two_positives_is_not_a_penalty() -> None:
    gallery = unit(10, 10, -10)
    ranks = best_positive_ranks(unit(0), gallery, ["p"], ["p", "p", "n"])
    # The negative at -10 ties both positives: one negative ahead, rank 2.
    assert ranks.tolist() == [2]


def test_unpaired_gallery_items_never_match() -> None:
    ranks = best_positive_ranks(unit(0), unit(0, 5), ["p"], [None, "p"])
    assert ranks.tolist() == [2]


def test_exact_topk_matches_a_full_sort_across_chunks() -> None:
    rng = np.random.default_rng(1)
    gallery = rng.normal(size=(103, 8)).astype(np.float32)
    queries = rng.normal(size=(5, 8)).astype(np.float32)
    scores, ids = exact_topk(gallery, queries, k=7, chunk=10)
    expected = np.argsort(-(queries @ gallery.T), axis=1)[:, :7]
    assert (ids == expected).all()
    assert np.allclose(scores, np.take_along_axis(queries @ gallery.T, expected, axis=1))
    assert exact_topk(gallery[:3], queries, k=10)[1].shape == (5, 3)


def test_ivf_scanning_every_cell_is_exact_and_few_cells_keep_most_recall() -> None:
    rng = np.random.default_rng(2)
    centres = rng.normal(size=(20, 16))
    x = centres[rng.integers(0, 20, 2000)] + 0.3 * rng.normal(size=(2000, 16))
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    ivf, order = IVF.build(x, nlist=20)
    x = x[order]
    assert ivf.offsets[-1] == len(x)
    queries = x[:50] + 0.05 * rng.normal(size=(50, 16)).astype(np.float32)
    exact = exact_topk(x, queries, 10)[1]
    assert (ivf.search(x, queries, 10, nprobe=20)[1] == exact).all()
    approx = ivf.search(x, queries, 10, nprobe=3)[1]
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact, strict=True)])
    assert recall > 0.8


def test_combination_weights_normalisation_and_errors() -> None:
    encodings = {"colour": np.array([[3.0, 4.0]]), "type": np.array([[1.0, 0.0]])}
    vector = combine(encodings, Combination.parse(["colour", "type"], None))
    assert vector.dtype == np.float16
    assert np.allclose(vector.astype(np.float32), np.array([[3, 4, 1, 0]]) / np.sqrt(26), atol=1e-3)
    weighted = combine(encodings, Combination.parse(["colour", "type"], "type=0", block_norm=True))
    assert weighted.shape == (1, 2)
    with pytest.raises(UserError, match="TASK=WEIGHT"):
        Combination.parse(["colour"], "shape=2")
    with pytest.raises(UserError, match="not a number"):
        Combination.parse(["colour"], "colour=heavy")


@pytest.mark.parametrize(
    ("uri", "root", "key"),
    [
        ("data/datasets/demo/v1", "data", "datasets/demo/v1/manifest.parquet"),
        (
            "s3://b/p/datasets/demo/v1/manifest.parquet",
            "s3://b/p",
            "datasets/demo/v1/manifest.parquet",
        ),
        ("/tmp/x/manifest.parquet", "/tmp/x", "manifest.parquet"),
    ],
)
def test_dataset_uri_splits_into_store_root_and_manifest(uri: str, root: str, key: str) -> None:
    assert split_dataset_uri(uri) == (root, key)


def test_chance_topk_matches_random_rankings() -> None:
    gallery = ["a", "a", "b", "c", "d", "e"]
    queries = ["a", "b", "z"]  # z has no positive: left out, as in the accuracy
    exact = chance_topk(queries, gallery, [1, 3])
    rng = np.random.default_rng(0)
    hits = {1: 0, 3: 0}
    trials = 4000
    for _ in range(trials):
        for query in queries[:2]:
            order = [gallery[i] for i in rng.permutation(len(gallery))]
            for k in hits:
                hits[k] += query in order[:k]
    for k in hits:
        assert exact[str(k)] == pytest.approx(hits[k] / (2 * trials), abs=0.02)
    assert exact["1"] == pytest.approx((2 / 6 + 1 / 6) / 2, abs=1e-4)

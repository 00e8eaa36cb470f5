"""The cheap paths of the dedup stage give the answers of the full ones: the chroma gate
before any view, the hash cache's version, pairs dealt to the workers in streams, views
reused across pairs, thumbnails made only for the pairs they judge, the edge scale's own
percentile and the compiled ratio test."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dataset.core.store import open_store
from dataset.dedup import DedupConfig
from dataset.dedup.geometry import EDGE_PERCENTILE, FIT_RATIO, RATIO, _bin_sum, _scale
from dataset.dedup.hashing import CACHE_VERSION, chroma_grids, compute_hashes
from dataset.dedup.kernels import ratio_matches
from dataset.dedup.schedule import pair_streams
from dataset.dedup.verify import _thumbs, image_views, score_pair, verify_pairs
from tests.dedup_fixtures import store_near_duplicates


def test_chroma_gate_before_views_scores_as_the_full_path(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    stored = store_near_duplicates(
        store, n_families=3, family_size=3, copies_per_image=1.0, seed=11
    )
    keys = stored.manifest["image_path"].tolist()
    hashes, _counts = compute_hashes(store, keys, ["phash"], workers=1)
    left, right = np.triu_indices(len(keys), k=1)  # every pair: most differ in colour
    config = DedupConfig(workers=1)
    full = verify_pairs(store, keys, left, right, config)
    gated = verify_pairs(store, keys, left, right, config, chroma=chroma_grids(hashes))
    # The same decisions; scores to float32 rounding (numpy's sums depend on alignment).
    pd.testing.assert_series_equal(full["confirmed"], gated["confirmed"])
    pd.testing.assert_frame_equal(full, gated, rtol=1e-5)
    rejected = full["ncc"].isna() & full["chroma"].notna()
    assert 0 < rejected.sum() < len(full) and full["confirmed"].sum() >= 3
    # Views from the pixels stage 1 left on disk: the scores of views decoded anew.
    spill_folder = tmp_path / "pixels"
    spill_folder.mkdir()
    spilled_hashes, _counts = compute_hashes(
        store, keys, ["phash"], workers=1, spill_folder=str(spill_folder)
    )
    spilled = spilled_hashes["pixels"].tolist()
    assert all(place is not None for place in spilled) and len(list(spill_folder.iterdir())) == 1
    for key in keys:  # stage 2 reads the images from the spill alone
        (tmp_path / key).unlink()
    from_disk = verify_pairs(
        store, keys, left, right, config, chroma=chroma_grids(hashes), spilled=spilled
    )
    pd.testing.assert_frame_equal(gated, from_disk)


def test_hash_cache_rows_of_another_version_or_side_are_made_anew(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    stored = store_near_duplicates(store, n_families=1, family_size=2, copies_per_image=0.0)
    keys = stored.manifest["image_path"].tolist()
    cache = "c/hashes.parquet"
    first, counts = compute_hashes(store, keys, ["phash"], cache_key=cache, workers=1)
    assert counts["hashed"] == 2
    _frame, counts = compute_hashes(store, keys, ["phash"], cache_key=cache, workers=1)
    assert counts == {"hashed": 0, "from_cache": 2, "bad": 0}
    # Another feature side: another chroma grid.
    other, counts = compute_hashes(
        store, keys, ["phash"], cache_key=cache, feature_side=96, workers=1
    )
    assert counts["hashed"] == 2 and other["chroma"][0] != first["chroma"][0]
    # A cache written by an older version (no chroma grid): not reused.
    store.write_parquet(cache, store.read_parquet(cache).drop(columns=["chroma", "version"]))
    _frame, counts = compute_hashes(store, keys, ["phash"], cache_key=cache, workers=1)
    assert counts["hashed"] == 2
    assert (store.read_parquet(cache)["version"] == CACHE_VERSION).all()


def test_pair_streams_make_each_images_views_once_per_stream() -> None:
    paths = [f"img/{i}.jpg" for i in range(60)]
    rng = np.random.default_rng(5)
    # A random graph of look-alikes (one large component) beside five triangles.
    a, b = rng.integers(0, 40, 90), rng.integers(0, 40, 90)
    triangles = [
        (i, j) for t in range(40, 55, 3) for i, j in ((t, t + 1), (t, t + 2), (t + 1, t + 2))
    ]
    left = np.r_[np.minimum(a, b)[a != b], [i for i, _j in triangles]]
    right = np.r_[np.maximum(a, b)[a != b], [j for _i, j in triangles]]
    streams = pair_streams(paths, left, right, workers=2, size=7)
    assert len(streams) == 2
    positions = np.concatenate([p for stream in streams for p, _task in stream])
    assert sorted(positions.tolist()) == list(range(len(left)))  # every pair once
    made = 0
    for stream in streams:
        held: set[int] = set()  # what a worker keeps between tasks
        released: set[int] = set()
        for p, task in stream:
            assert len(p) <= 7
            np.testing.assert_array_equal(task.left, left[p])
            np.testing.assert_array_equal(task.right, right[p])
            needed = {*task.left.tolist(), *task.right.tolist()}
            assert task.keys == {i: paths[i] for i in sorted(needed)}
            assert not needed & released  # never needed again once dropped
            made += len(needed - held)
            held = (held | needed) - set(task.release)
            released |= set(task.release)
        assert not held  # every image released at its last task
    images = len(np.unique(np.r_[left, right]))
    # Views made again only for images with pairs in both streams (the cut), and fewer
    # than tasks cut in order of the pairs' first image would make.
    assert images <= made < images + 15


def test_views_reused_across_pairs_score_as_fresh_ones(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    stored = store_near_duplicates(store, n_families=2, family_size=2, copies_per_image=1.0)
    data = [store.read_bytes(key) for key in stored.manifest["image_path"]]
    config = DedupConfig(workers=1, max_chroma=1e9)  # every pair scored in full
    shared = [image_views(d, config) for d in data]  # their edges kept from pair to pair
    thumbs_made: list[tuple[int, int]] = []

    def thumbs_of(*ids: int) -> tuple:
        thumbs_made.append(ids)
        return tuple(_thumbs(v, 96) for v in map(shared.__getitem__, ids))

    warped = 0
    for i in range(len(data)):
        for j in range(len(data)):
            if i == j:
                continue
            reused = score_pair(shared[i], shared[j], config, lambda i=i, j=j: thumbs_of(i, j))
            a, b = image_views(data[i], config), image_views(data[j], config)
            fresh_thumbs = tuple(_thumbs(v, 96) for v in (a, b))
            fresh = score_pair(a, b, config, lambda t=fresh_thumbs: t)
            assert reused == pytest.approx(fresh, rel=1e-5, nan_ok=True)
            # The thumbnails only where the decision reads them: no fit that judges.
            judged = (
                reused["inliers"] >= config.min_inliers
                and reused["inlier_ratio"] >= config.min_inlier_ratio
            )
            assert ((i, j) in thumbs_made) != judged
            warped += reused["unmatched_edges"] < 1.0
    assert warped >= 4 and 0 < len(thumbs_made) < len(data) * (len(data) - 1)


def test_edge_scale_and_bin_sum_give_numpys_numbers() -> None:
    rng = np.random.default_rng(3)
    for size in (1, 2, 101, 5000):
        # Whole numbers repeat (ties at the percentile's ranks); powers skew the values.
        values = np.round(rng.random((size, 4), dtype=np.float32) ** 3 * 200)
        mask = rng.random(size) < 0.9
        mask[0] = True
        for column in values.T:
            expected = max(float(np.percentile(column[mask], EDGE_PERCENTILE)), 1e-3)
            assert _scale(column, mask) == expected
        np.testing.assert_array_equal(_bin_sum(values), values.sum(axis=-1))


def test_ratio_matches_are_the_brute_force_two_nearest_and_the_ratio_test() -> None:
    import cv2

    rng = np.random.default_rng(4)
    # Descriptors of few distinct bits: equal distances (ties for the nearest and the
    # second nearest) are common; a copy with a few bits flipped matches well.
    words = rng.integers(0, 2, (120, 32)).astype(np.uint8) * rng.integers(0, 256, 32).astype(
        np.uint8
    )
    copy = words[rng.permutation(120)[:100]] ^ (rng.random((100, 32)) < 0.02).astype(np.uint8)
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    failed = 0
    for query, train in ((words, copy), (copy, words), (words[:50], words[50:52])):
        pairs = [p for p in matcher.knnMatch(query, train, k=2) if len(p) == 2]
        passing = {
            ratio: [(p[0].queryIdx, p[0].trainIdx) for p in pairs
                    if p[0].distance < ratio * p[1].distance]
            for ratio in (RATIO, FIT_RATIO)
        }  # fmt: skip

        matched, nearest, strict = ratio_matches(
            query.view(np.uint64), train.view(np.uint64), FIT_RATIO, RATIO
        )
        got = list(zip(matched.tolist(), nearest.tolist(), strict=True))
        assert got == passing[FIT_RATIO]
        distinctive = [m for m, passes in zip(got, strict, strict=True) if passes]
        assert distinctive == passing[RATIO]
        assert len(passing[RATIO]) > 0
        failed += len(query) - len(passing[RATIO])
    assert failed > 0


def test_edge_kernels_give_the_numpy_and_opencv_numbers() -> None:
    import cv2

    from dataset.dedup.geometry import ORIENTATIONS, _edges

    rng = np.random.default_rng(6)
    # Smooth blocks with sharp steps (strong edges of every orientation) and noise.
    image = cv2.resize(rng.integers(0, 256, (9, 12, 3)).astype(np.uint8), (60, 45))
    image = cv2.add(image, rng.integers(0, 6, image.shape).astype(np.uint8))
    _grey, magnitude, oriented = _edges(image)
    # What the kernels replace: the channels' gradients combined in numpy, the other
    # image's bins dilated by OpenCV at every pixel.
    gx = [cv2.Sobel(c, cv2.CV_32F, 1, 0, ksize=3) for c in cv2.split(image.astype(np.float32))]
    gy = [cv2.Sobel(c, cv2.CV_32F, 0, 1, ksize=3) for c in cv2.split(image.astype(np.float32))]
    along = sum(x * x - y * y for x, y in zip(gx, gy, strict=True))
    across = sum(2 * x * y for x, y in zip(gx, gy, strict=True))
    size = np.sqrt(sum(x * x + y * y for x, y in zip(gx, gy, strict=True)))
    norm = np.maximum(np.sqrt(along * along + across * across), 1e-6)
    cos, sin = along / norm, across / norm
    bins = cv2.merge([size * np.maximum(v, 0) ** 2 for v in (cos, sin, -cos, -sin)])
    np.testing.assert_array_equal(magnitude, cv2.GaussianBlur(size, (5, 5), 0))
    np.testing.assert_array_equal(oriented, cv2.GaussianBlur(bins, (5, 5), 0))

    from dataset.dedup.kernels import missing_edges

    other = np.ascontiguousarray(oriented[::-1])  # another image's bins
    overlap = np.zeros(magnitude.shape, bool)
    overlap[3:-2, 2:] = True
    scale, other_scale = 40.0, 55.0
    strong, missing = missing_edges(
        magnitude, oriented, other, overlap, np.float32(0.3 * scale), np.float32(scale),
        np.float32(other_scale), np.float32(0.3),
    )  # fmt: skip
    expected = np.flatnonzero((magnitude > 0.3 * scale) & overlap)
    this = oriented.reshape(-1, ORIENTATIONS)[expected] / scale
    near = cv2.dilate(other, np.ones((3, 3), np.uint8)).reshape(-1, ORIENTATIONS)[expected]
    own = this.argmax(axis=-1)[:, None]
    lacking = np.take_along_axis(near / other_scale, own, -1) < 0.3 * np.take_along_axis(
        this, own, -1
    )
    np.testing.assert_array_equal(strong, expected)
    np.testing.assert_array_equal(missing, lacking[:, 0])
    assert 0 < missing.sum() < len(missing)


def test_the_correlation_kernel_gives_numpys_correlation() -> None:
    from dataset.dedup.kernels import correlation

    rng = np.random.default_rng(7)
    a = rng.normal(size=(40, 50)).astype(np.float32)
    b = (a + rng.normal(scale=0.5, size=a.shape)).astype(np.float32)
    mask = rng.random(a.shape) < 0.7
    for x, y, inside in ((a, b, mask), (a[3:-3, 5:-5], b[3:-3, 5:-5], mask[3:-3, 5:-5])):
        expected = np.corrcoef(x[inside].astype(np.float64), y[inside].astype(np.float64))[0, 1]
        assert correlation(x, y, inside) == pytest.approx(expected, abs=1e-9)
    assert 0.8 < correlation(a, b, mask) < 0.95
    flat = np.full(a.shape, 3.0, np.float32)
    assert correlation(flat, b, mask) == 0.0

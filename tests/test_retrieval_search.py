"""Index, search and eval-retrieval end to end with a tiny untrained encoder."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from dataset.core.store import open_store
from tests.localiser_fixtures import write_constant_localiser
from tests.search_fixtures import (
    garment_image,
    jpeg,
    near_copy,
    write_json,
    write_paired_dataset,
    write_tiny_encoder,
)
from tests.training_fixtures import cli

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A tiny encoder, a paired dataset and an index built by the real CLI (subprocess)."""
    root = tmp_path_factory.mktemp("search")
    encoder = write_tiny_encoder(str(root / "models/enc/r1/export"))
    info = write_paired_dataset(str(root / "store"))
    # One catalogue image is broken: it must be counted and skipped, not fatal.
    store = open_store(str(root / "store"))
    store.write_bytes("catalogue/tiny/images/P011-1.jpg", b"\xff\xd8 not a jpeg")
    # TensorFlow's log level left unset: the command itself keeps its chatter out.
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run(
        [sys.executable, "-m", "training", "index", "--encoder", encoder,
         "--dataset", str(info["dataset"]), "--out", str(root / "index"), "--format", "json"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "absl::InitializeLog" not in done.stderr and "oneDNN custom" not in done.stderr
    assert not re.search(r"^I\d{4} ", done.stderr, re.MULTILINE), done.stderr  # absl INFO
    summary = json.loads(done.stdout)
    return {
        "root": str(root),
        "encoder": encoder,
        "index": str(root / "index"),
        "dataset": str(info["dataset"]),
        "query": str(root / "store" / str(info["user_photo"])),
        "pair": str(info["pair"]),
        "summary": json.dumps(summary),
    }


def test_index_holds_two_views_per_product_and_counts_broken_images(world: dict[str, str]) -> None:
    summary = json.loads(world["summary"])
    # 12 products x first 2 views = 24 images; P011-1 is broken.
    assert summary["images"] == 23 and summary["skipped_unreadable"] == 1
    assert summary["products"] == 12
    meta = json.loads(Path(world["index"], "index.json").read_text())
    assert meta["encoder_id"] == "tiny-a" and meta["dims"] == 4 * 16 and meta["count"] == 23
    embeddings = np.load(Path(world["index"], "embeddings.npy"))
    assert embeddings.dtype == np.float16
    assert np.allclose(np.linalg.norm(embeddings.astype(np.float32), axis=1), 1, atol=1e-2)


def test_search_returns_the_planted_near_copy_first_and_draws_a_grid(
    world: dict[str, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    grid = tmp_path / "grid.png"
    code, out, err = cli(
        capsys, "search", "--index", world["index"], "--image", world["query"], "--top", "5",
        "--grid", str(grid), "--pair-id", world["pair"], "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    results = json.loads(out)["results"]
    assert [r["rank"] for r in results] == [1, 2, 3, 4, 5]
    assert results[0]["product_id"] == world["pair"] and results[0]["hit"] is True
    assert len({r["product_id"] for r in results}) == 5  # one line per product, not per view
    assert results[0]["score"] > results[1]["score"]
    assert json.loads(out)["pair_rank"] == 1
    with Image.open(grid) as image:
        assert image.format == "PNG" and image.width > 800


def test_search_with_segmentation_and_approximate_index(
    world: dict[str, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = cli(
        capsys, "index", "--encoder", world["encoder"], "--dataset", world["dataset"],
        "--out", str(tmp_path / "ivf"), "--ivf", "on", "--nlist", "3", "--weights", "material=0",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads((tmp_path / "ivf/index.json").read_text())["dims"] == 3 * 16
    write_constant_localiser(str(tmp_path / "loc.keras"), bias=8.0)  # every cell garment
    code, out, err = cli(
        capsys, "search", "--index", str(tmp_path / "ivf"), "--image", world["query"],
        "--approx", "--nprobe", "3", "--segment", "--localiser", str(tmp_path / "loc.keras"),
        "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["results"][0]["product_id"] == world["pair"]
    assert json.loads(out)["segmentation"].startswith(("segmented (", "segmentation rejected ("))
    # The flag reaches the localiser's loader: a file that is no model is a one-line error.
    (tmp_path / "notes.keras").write_text("not a model")
    code, _, err = cli(
        capsys, "search", "--index", str(tmp_path / "ivf"), "--image", world["query"],
        "--segment", "--localiser", str(tmp_path / "notes.keras"),
    )  # fmt: skip
    assert code == 2 and "notes.keras is not a localiser model" in err


def test_encoder_mismatch_and_non_image_query_are_refused(
    world: dict[str, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    other = write_tiny_encoder(str(tmp_path / "other"), encoder_id="tiny-b", seed=1)
    code, _, err = cli(
        capsys, "search", "--index", world["index"], "--image", world["query"], "--encoder", other
    )
    assert code == 2 and "does not match the index's encoder 'tiny-a'" in err
    text = tmp_path / "notes.jpg"
    text.write_text("this is not a photo")
    code, _, err = cli(capsys, "search", "--index", world["index"], "--image", str(text))
    assert code == 2 and "notes.jpg: not a readable image" in err
    assert len(err.strip().splitlines()) == 1


def test_eval_retrieval_on_the_manifest_reports_and_compares(
    world: dict[str, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    previous = {"encoder_id": "old", "top_k": {"1": 0.25, "5": 0.5}}
    write_json(tmp_path / "previous.json", previous)
    code, out, err = cli(
        capsys, "eval-retrieval", "--encoder", world["encoder"], "--pairs", world["dataset"],
        "--top-k", "1,5", "--out", str(tmp_path / "eval"), "--compare",
        str(tmp_path / "previous.json"), "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    report = json.loads(out)
    # 12 user photos: 11 near-copies of a product's first view, 1 orphan pair.
    assert report["queries"] == 12 and report["no_gallery_match"] == 1
    assert report["gallery"] == 12 * 3 - 1  # all views; the broken image is skipped
    assert report["skipped"]["unreadable_image"] == 1
    assert report["top_k"]["5"] >= report["top_k"]["1"] >= 0.8
    assert set(report["per_category"]) == {"dresses", "jeans", "shirts"}
    delta = report["comparison"]["delta_top_k"]["1"]
    assert delta == pytest.approx(report["top_k"]["1"] - 0.25)
    saved = json.loads((tmp_path / "eval/report.json").read_text())
    assert saved["top_k"] == report["top_k"]
    assert (tmp_path / "eval/topk.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (tmp_path / "eval/index.html").read_text()
    assert "data:image/png;base64," in page and "top-5" in page
    assert world["root"] not in page and str(tmp_path) not in page  # no machine path
    assert 'href="../store/datasets/tiny/v1/report.html"' not in page  # the dataset has none


def test_search_grid_shows_the_true_product_outside_the_top(
    world: dict[str, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = cli(
        capsys, "search", "--index", world["index"], "--image", world["query"], "--top", "1",
        "--pair-id", "P005", "--grid", str(tmp_path / "grid.png"), "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    assert result["pair_rank"] > 1 and result["results"][0]["product_id"] != "P005"
    true = result["true_product"]
    assert true["product_id"] == "P005" and true["rank"] == result["pair_rank"]
    assert true["score"] <= result["results"][0]["score"]
    with Image.open(tmp_path / "grid.png") as grid:  # two tiles: the top one and the truth
        assert grid.width > 2 * 180


def write_deepfashion2(folder: Path) -> None:
    """Two photos of one pair (style 1) and a distractor; one item without a box."""
    rng = np.random.default_rng(5)
    garment = garment_image(rng, size=40)
    shop = np.full((80, 120, 3), 250, np.uint8)
    shop[20:60, 70:110] = garment  # item1 box [70, 20, 110, 60]
    shop[10:50, 5:45] = garment_image(rng, size=40)  # item2: another garment, style 0
    user = np.full((90, 90, 3), 30, np.uint8)
    user[40:80, 10:50] = near_copy(garment, rng)  # box [10, 40, 50, 80]
    (folder / "image").mkdir(parents=True)
    (folder / "image/000001.jpg").write_bytes(jpeg(shop))
    (folder / "image/000002.jpg").write_bytes(jpeg(user))
    write_json(
        folder / "annos/000001.json",
        {"source": "shop", "pair_id": 7,
         "item1": {"bounding_box": [70, 20, 110, 60], "category_id": 1, "style": 1},
         "item2": {"bounding_box": [5, 10, 45, 50], "category_id": 9, "style": 0}},
    )  # fmt: skip
    write_json(
        folder / "annos/000002.json",
        {"source": "user", "pair_id": 7,
         "item1": {"bounding_box": [10, 40, 50, 80], "category_id": 1, "style": 1},
         "item2": {"category_id": 8, "style": 1}},
    )  # fmt: skip


def test_deepfashion2_folder_is_read_and_cropped_by_box(tmp_path: Path) -> None:
    import tensorflow as tf

    from training.retrieval.embed import prepare_image
    from training.retrieval.sources import load_pairs

    write_deepfashion2(tmp_path / "df2")
    pairs = load_pairs(str(tmp_path / "df2"))
    assert pairs.skipped == {"missing_box": 1}
    frame = pairs.frame.sort_values(["role", "match_key"]).reset_index(drop=True)
    assert frame["role"].tolist() == ["gallery", "gallery", "query"]
    assert frame["match_key"].tolist() == ["", "7/1", "7/1"]
    assert frame["category"].tolist() == ["skirt", "short sleeve top", "short sleeve top"]
    shop = tf.io.decode_jpeg(pairs.store.read_bytes("image/000001.jpg"))
    crop = prepare_image(shop, tf.constant([70, 20, 110, 60]), 40).numpy()
    whole = prepare_image(shop, tf.constant([0, 0, 0, 0]), 40).numpy()
    expected = tf.image.resize(tf.cast(shop[20:60, 70:110], tf.float32), (40, 40)).numpy()
    assert np.abs(crop - expected).max() < 1e-3
    assert np.abs(whole - expected).mean() > 10


def test_eval_retrieval_on_a_deepfashion2_folder(
    world: dict[str, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    write_deepfashion2(tmp_path / "df2")
    code, out, err = cli(
        capsys, "eval-retrieval", "--encoder", world["encoder"], "--pairs",
        str(tmp_path / "df2"), "--top-k", "1,20", "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    report = json.loads(out)
    assert report["evaluated"] == 1 and report["gallery"] == 2
    assert report["skipped"]["missing_box"] == 1
    assert report["top_k"]["20"] == 1.0  # k larger than the gallery
    assert report["per_category"]["short sleeve top"]["evaluated"] == 1


def write_bad_deepfashion2(folder: Path) -> None:
    """The folder of :func:`write_deepfashion2` plus every kind of bad annotation."""
    write_deepfashion2(folder)
    rng = np.random.default_rng(6)
    (folder / "image/000003.jpg").write_bytes(jpeg(garment_image(rng, size=60)))  # 60x60
    for name in ("000004", "000006", "000007"):
        (folder / f"image/{name}.jpg").write_bytes(jpeg(garment_image(rng, size=30)))
    write_json(
        folder / "annos/000003.json",
        {"source": "user", "pair_id": 9,
         "item1": {"bounding_box": [-10, -5, 30, 70], "category_id": 3, "style": 2},  # clamped
         "item2": {"bounding_box": [100, 100, 150, 150], "category_id": 3, "style": 1},
         "item3": {"bounding_box": [20, 20, 10, 40], "category_id": 3, "style": 1},
         "item4": {"bounding_box": [5, 5, 5, 30], "category_id": 3, "style": 1},
         "item5": {"bounding_box": ["a", 1, 2, 3], "category_id": 3, "style": 1},
         "item6": {"bounding_box": [1, 1, 20, 20], "category_id": 3, "style": "two"},
         "item7": {"bounding_box": [1, 1, 20, 20], "style": 1}},
    )  # fmt: skip
    (folder / "annos/000004.json").write_text("{not json")
    write_json(
        folder / "annos/000005.json",  # no image/000005.jpg
        {"source": "shop", "pair_id": 9, "item1": {"bounding_box": [1, 1, 9, 9],
         "category_id": 3, "style": 2}},
    )  # fmt: skip
    write_json(folder / "annos/000006.json", {"source": "shop", "pair_id": "x", "item1": {}})
    write_json(folder / "annos/000007.json", {"source": "studio", "pair_id": 9, "item1": {}})


def test_deepfashion2_bad_annotations_are_clamped_or_counted_and_skipped(
    world: dict[str, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from training.retrieval.sources import load_pairs

    write_bad_deepfashion2(tmp_path / "df2")
    pairs = load_pairs(str(tmp_path / "df2"))
    assert pairs.skipped == {
        "missing_box": 1, "box_outside_image": 1, "degenerate_box": 2, "bad_box": 1,
        "bad_field": 2, "missing_field": 1, "bad_annotation": 1, "missing_image": 1,
        "unknown_source": 1,
    }  # fmt: skip
    clamped = pairs.frame[pairs.frame["image_path"] == "image/000003.jpg"]
    assert clamped["box"].tolist() == [[0, 0, 30, 60]] and clamped["match_key"].tolist() == ["9/2"]
    code, out, err = cli(
        capsys, "eval-retrieval", "--encoder", world["encoder"], "--pairs",
        str(tmp_path / "df2"), "--top-k", "1,20", "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    report = json.loads(out)
    assert report["evaluated"] == 1 and report["no_gallery_match"] == 1  # pair 9 has no shop item
    assert report["skipped"]["box_outside_image"] == 1 and "Traceback" not in err


def test_index_a_deepfashion2_folder_and_search_a_box_of_a_photo(
    world: dict[str, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    write_bad_deepfashion2(tmp_path / "df2")
    index = str(tmp_path / "index")
    code, out, err = cli(
        capsys, "index", "--encoder", world["encoder"], "--pairs", str(tmp_path / "df2"),
        "--out", index, "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    summary = json.loads(out)
    assert summary["images"] == 2 and summary["skipped"]["degenerate_box"] == 2
    items = pd.read_parquet(tmp_path / "index/items.parquet")
    assert sorted(items["pair_id"]) == ["", "7/1"]  # a hit shares pair_id and style
    photo = str(tmp_path / "df2/image/000002.jpg")
    code, out, err = cli(
        capsys, "search", "--index", index, "--image", photo, "--box", "10,40,50,80",
        "--pair-id", "7/1", "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    found = json.loads(out)
    assert found["box"] == [10, 40, 50, 80] and found["pair_rank"] == 1
    assert found["results"][0]["product_id"] == "7/1" and found["results"][0]["hit"] is True
    assert found["thresholds"] == "0.5"  # this encoder records none
    assert [a["label"] for a in found["attributes"]["type"]] in (["dresses"], ["jeans"], ["shirts"])
    for box, reason in (("200,200,300,300", "box outside image"), ("50,40,10,80", "degenerate box"),
                        ("1,2,3", "expected four numbers")):  # fmt: skip
        code, _, err = cli(capsys, "search", "--index", index, "--image", photo, "--box", box)
        assert code == 2 and reason in err and len(err.strip().splitlines()) == 1, err


def test_index_and_search_through_s3(
    s3_bucket: str, world: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    encoder = write_tiny_encoder(f"{s3_bucket}/models/enc/r1/export")
    info = write_paired_dataset(s3_bucket, products=4, views=2)
    index = f"{s3_bucket}/indexes/tiny"
    code, _, err = cli(
        capsys, "index", "--encoder", encoder, "--dataset", str(info["dataset"]), "--out", index
    )
    assert code == 0, err
    assert open_store(index).read_json("index.json")["count"] == 8
    query = f"{s3_bucket}/{info['user_photo']}"
    code, out, err = cli(capsys, "search", "--index", index, "--image", query, "--format", "json")
    assert code == 0, err
    assert json.loads(out)["results"][0]["product_id"] == info["pair"]


def test_plot_embeddings_draws_the_colour_space(
    world: dict[str, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "tsne.png"
    code, stdout, err = cli(
        capsys, "plot-embeddings", "--encoder", world["encoder"], "--dataset", world["dataset"],
        "--out", str(out), "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    report = json.loads(stdout)
    assert report["labels"] == ["blue", "green", "red"]
    assert report["images"] == 12 * 3 + 12 - 1  # every labelled image but the broken one
    with Image.open(out) as image:
        assert image.format == "PNG"
    code, _, err = cli(
        capsys, "plot-embeddings", "--encoder", world["encoder"], "--dataset", world["dataset"],
        "--out", str(out), "--task", "pattern",
    )  # fmt: skip
    assert code == 2 and "no label column 'pattern'" in err


def test_manifest_queries_come_from_one_split_and_the_gallery_from_all(tmp_path: Path) -> None:
    from dataset.core.errors import UserError
    from training.retrieval.sources import from_manifest

    manifest = pd.DataFrame(
        {
            "image_path": ["u1.jpg", "u2.jpg", "u3.jpg", "s1.jpg", "s2.jpg", "s3.jpg"],
            "domain": ["user", "user", "user", "shop", "shop", "shop"],
            "pair_id": ["A", "B", None, "A", "B", None],
            "product_id": [None, None, None, "A", "B", "C"],
            "split": ["test", "train", "test", "test", "train", "val"],
        }
    )
    manifest.to_parquet(tmp_path / "manifest.parquet")
    frame = from_manifest(str(tmp_path), query_split="test").frame
    assert frame.loc[frame["role"] == "query", "image_path"].tolist() == ["u1.jpg"]
    assert sorted(frame.loc[frame["role"] == "gallery", "image_path"]) == [
        "s1.jpg", "s2.jpg", "s3.jpg",
    ]  # fmt: skip
    everything = from_manifest(str(tmp_path), query_split="all").frame
    assert sorted(everything.loc[everything["role"] == "query", "image_path"]) == [
        "u1.jpg", "u2.jpg",
    ]  # fmt: skip
    with pytest.raises(UserError, match="no user photo with a pair_id in split 'val'"):
        from_manifest(str(tmp_path), query_split="val")


def test_manifest_images_are_the_cut_outs_the_encoder_trained_on(tmp_path: Path) -> None:
    from training.retrieval.sources import from_manifest

    # Cut-out names are hashes: the catalogue's view order must come from the photos.
    manifest = pd.DataFrame(
        {
            "image_path": ["u1.jpg", "u2.jpg", "A-1.jpg", "A-2.jpg", "A-3.jpg"],
            "segmented_path": ["cut/9.jpg", None, "cut/8.jpg", "cut/2.jpg", "cut/1.jpg"],
            "domain": ["user", "user", "shop", "shop", "shop"],
            "pair_id": ["A", "A", "A", "A", "A"],
            "product_id": [None, None, "A", "A", "A"],
        }
    )
    manifest.to_parquet(tmp_path / "manifest.parquet")
    frame = from_manifest(str(tmp_path), views=2).frame
    # A photo the segment stage could not cut stays the photo, as in the shards.
    assert frame.loc[frame["role"] == "query", "image_path"].tolist() == ["cut/9.jpg", "u2.jpg"]
    gallery = frame[frame["role"] == "gallery"]
    assert gallery["image_path"].tolist() == ["cut/8.jpg", "cut/2.jpg"]
    assert gallery["view"].tolist() == [0, 1]

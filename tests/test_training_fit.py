"""fit -> evaluate -> export -> index/search on a small demo-like dataset, tiny backbone."""

from __future__ import annotations

import json
import re
import shutil
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.training_fixtures import add_bad_shard, cli, write_training_dataset
from training.cli import main

FIT = ["--backbone", "tiny", "--weights", "none", "--batch-size", "16",
       "--learning-rate", "3e-3", "--format", "json"]  # fmt: skip


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("fit")
    dataset = write_training_dataset(root / "store", per_cell=8)
    out = str(root / "models/encoder/r1")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main(["fit", "--dataset", dataset, "--out", out, "--epochs", "8", *FIT])
    assert code == 0
    # The validation pipeline declares its length: Keras never runs out of data.
    assert not [w for w in caught if "ran out of data" in str(w.message)]
    return {"root": str(root), "dataset": dataset, "out": out}


def test_fit_learns_colour_and_type_well_above_chance(trained: dict[str, str]) -> None:
    out = Path(trained["out"])
    summary = json.loads((out / "summary.json").read_text())
    val = summary["val"]
    assert val["colour"]["top1_accuracy"] >= 0.8  # chance: about 1/3
    assert val["type"]["accuracy"] >= 0.5  # chance: 1/3 (the input order is not seeded)
    assert (
        summary["dataset"]["splits"]["train"]["drawn"]
        > summary["dataset"]["splits"]["train"]["records"]
    )  # repeats
    assert summary["config"]["backbone"] == "tiny" and summary["images_per_s"]
    assert summary["git_commit"] is None or len(summary["git_commit"]) == 40
    for name in ("config.yaml", "logs/training.csv", "checkpoints/best.weights.h5",
                 "model/encoder.keras", "model/encoder.json"):  # fmt: skip
        assert (out / name).is_file(), name
    assert not list((out / "backup").rglob("*.h5"))  # a finished run leaves no backup
    log = pd.read_csv(out / "logs/training.csv")
    assert log["epoch"].tolist() == list(range(8))
    meta = json.loads((out / "model/encoder.json").read_text())
    assert list(meta["thresholds"]) == ["colour"]  # multi-label heads only
    assert set(meta["thresholds"]["colour"]) == {"red", "green", "blue"}
    assert all(0 < t < 1 for t in meta["thresholds"]["colour"].values())
    assert meta["calibration"]["split"] == "val"
    assert meta["calibration"]["images"] == summary["dataset"]["splits"]["val"]["records"]


def test_evaluate_writes_metrics_confusion_and_compares(
    trained: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["evaluate", "--model", trained["out"], "--dataset", trained["dataset"]]
    code, out, err = cli(capsys, *args, "--format", "json")
    assert code == 0, err
    result = json.loads(out)
    assert result["tasks"]["type"]["accuracy"] >= 0.5  # chance: 1/3, on ~26 test images
    colour = result["tasks"]["colour"]
    assert set(colour["labels"]) == {"red", "green", "blue"}
    assert {"precision", "recall", "f1", "auc", "support"} <= set(colour["labels"]["red"])
    folder = Path(trained["out"]) / "eval/test"
    matrix = json.loads((folder / "confusion-type.json").read_text())["matrix"]
    assert np.asarray(matrix).sum() == result["n"]
    assert (folder / "confusion-colour.png").read_bytes()[:4] == b"\x89PNG"
    assert (folder / "labels-colour.png").read_bytes()[:4] == b"\x89PNG"  # per-label 2x2
    page = (folder / "index.html").read_text()
    assert page.count("data:image/png;base64,") == 2 + 1  # colour: pairs + per label; type
    assert "colour: label pairs" in page and "type: confusion matrix" in page
    assert trained["root"] not in page  # no machine path
    assert "Report of the dataset version" not in page  # this dataset has no report
    (Path(trained["dataset"]) / "report.html").write_text("<!doctype html><title>r</title>")
    code, out, err = cli(capsys, *args)
    assert code == 0, err
    link = re.search(
        r'<a href="([^"]+)">Report of the dataset version', (folder / "index.html").read_text()
    )
    assert (
        link
        and (folder / link.group(1)).resolve() == Path(trained["dataset"], "report.html").resolve()
    )
    assert result["calibration"]["source"].startswith("encoder.json")
    assert colour["macro_f1_calibrated"] == colour["calibrated"]["macro_f1"]
    assert colour["macro_f1_calibrated"] >= 0.7  # chance (every label present): about 0.5
    assert (
        colour["chance"]["macro_f1"] < 0.6 and result["tasks"]["type"]["chance"]["accuracy"] < 0.6
    )
    code, out, err = cli(capsys, *args, "--compare", trained["out"])
    assert code == 0, err
    assert "vs previous type: accuracy +0.000" in out
    assert "macro_f1_calibrated +0.000" in out and "(chance " in out


def test_evaluate_averages_the_heads_over_test_time_views(
    trained: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    from training.encoder_io import load_encoder
    from training.views import averaged_over_views

    args = ["evaluate", "--model", trained["out"], "--dataset", trained["dataset"]]
    code, out, err = cli(capsys, *args, "--views", "mirror,zoom-out")
    assert code == 0, err
    assert "probabilities averaged over: image, mirror, zoom-out" in out
    model = load_encoder(trained["out"]).model
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (3, 32, 32, 3)).astype("float32")
    averaged = averaged_over_views(model, ["mirror"])(images)
    outputs = [model(x, training=False) for x in (images, images[:, :, ::-1])]
    alone = [np.asarray(output["type_probs"]) for output in outputs]
    np.testing.assert_allclose(averaged["type_probs"], (alone[0] + alone[1]) / 2, atol=1e-5)
    # The mirror is another input. On noise the toy's softmax can saturate to within 1e-4,
    # so the check reads the encoding before it.
    encodings = [np.asarray(output["type_embedding"]) for output in outputs]
    assert not np.allclose(encodings[0], encodings[1], atol=1e-4)
    code, out, err = cli(capsys, *args, "--views", "mirror,upside-down")
    assert code != 0 and "--views: use ['mirror', 'zoom-in', 'zoom-out']" in err
    assert "Received: ['upside-down']" in err and len(err.strip().splitlines()) == 1


def test_evaluate_calibrates_on_val_an_encoder_without_thresholds(
    trained: dict[str, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    older = tmp_path / "older"
    shutil.copytree(Path(trained["out"]) / "model", older / "model")
    meta = json.loads((older / "model/encoder.json").read_text())
    recorded = meta.pop("thresholds")
    del meta["calibration"]
    (older / "model/encoder.json").write_text(json.dumps(meta))
    code, out, err = cli(
        capsys, "evaluate", "--model", str(older), "--dataset", trained["dataset"],
        "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    assert result["calibration"]["source"].startswith("chosen by evaluate on the dataset's val")
    chosen = {
        c: v["threshold"] for c, v in result["tasks"]["colour"]["calibrated"]["labels"].items()
    }
    assert chosen == pytest.approx(recorded["colour"], abs=1e-3)  # same model, same val split


def test_export_reloads_matches_and_serves_search(
    trained: dict[str, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import tensorflow as tf

    from training.encoder_io import load_encoder

    code, out, err = cli(capsys, "export", "--model", trained["out"], "--format", "json")
    assert code == 0, err
    result = json.loads(out)
    assert max(result["smoke_check_max_difference"].values()) <= 1e-4
    export = Path(trained["out"]) / "export"
    meta = json.loads((export / "encoder.json").read_text())
    assert meta["encoder_id"] == result["encoder_id"] and meta["image_size"] == 32
    trained_meta = json.loads((Path(trained["out"]) / "model/encoder.json").read_text())
    assert meta["thresholds"] == trained_meta["thresholds"]  # consumers of the export get them
    assert list(meta["tasks"]) == ["colour", "type"]
    encoder = load_encoder(str(export))
    images = np.random.default_rng(1).integers(0, 256, (3, 50, 40, 3)).astype(np.uint8)
    keras_out = encoder.model(images)
    served = tf.saved_model.load(str(export / "saved_model"))
    saved_out = served.serve(tf.constant(images, tf.float32))
    assert tuple(keras_out["colour_embedding"].shape) == (3, 1000)
    for key in keras_out:
        assert np.allclose(keras_out[key], saved_out[key], atol=1e-4)

    # The search part reads the real export: index, then query with a user photo.
    index = str(tmp_path / "index")
    code, out, err = cli(
        capsys, "index", "--encoder", str(export), "--dataset", trained["dataset"],
        "--out", index, "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads((tmp_path / "index/index.json").read_text())["dims"] == 2000
    manifest = pd.read_parquet(Path(trained["dataset"]) / "manifest.parquet")
    query = manifest[manifest["domain"] == "user"].iloc[0]
    image = str(Path(trained["root"]) / "store" / query["image_path"])
    code, out, err = cli(capsys, "search", "--index", index, "--image", image, "--format", "json")
    assert code == 0, err
    found = json.loads(out)
    top = found["results"][0]["product_id"]
    assert top.split("-")[0] == query["type"][0]  # same garment type first
    assert found["thresholds"] == "calibrated"
    assert [a["label"] for a in found["attributes"]["type"]] == [query["type"][0]]
    assert query["colour"][0] in [a["label"] for a in found["attributes"]["colour"]]
    code, out, err = cli(
        capsys, "eval-retrieval", "--encoder", str(export), "--pairs", trained["dataset"],
        "--top-k", "1,10", "--out", str(tmp_path / "eval"), "--format", "json",
    )  # fmt: skip
    assert code == 0, err


def test_bad_data_is_counted_or_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from training.config import load_config
    from training.data import check_classes, check_split, scan_split, stage_dataset

    dataset = Path(write_training_dataset(tmp_path / "store", per_cell=2))
    add_bad_shard(dataset)
    info = stage_dataset(str(dataset))
    scan = scan_split(info, "train", info.tasks)
    assert (scan.corrupt, scan.undecodable) == (1, 1)
    check_split(info, "train", scan, max_bad_fraction=0.1)
    with pytest.raises(Exception, match="2 bad record"):
        check_split(info, "train", scan, max_bad_fraction=0.0)
    from dataset.taxonomy.tasks import TaskSpec

    extra = {"colour": TaskSpec("colour", "multi_label", ["red", "green", "blue", "purple"])}
    scan.counts["colour"].append(0)
    with pytest.raises(Exception, match=r"no training image: \['colour/purple'\]"):
        check_classes(extra, scan, allow_missing=False)
    assert load_config(None).allow_missing_classes is False

    out = str(tmp_path / "run")
    code, _, err = cli(
        capsys, "fit", "--dataset", str(dataset), "--out", out, "--tasks", "shape", *FIT
    )
    assert code == 2 and "unknown task(s) ['shape']" in err
    code, _, err = cli(
        capsys, "fit", "--dataset", str(dataset), "--out", out, "--backbone", "vgg99"
    )
    assert code == 2 and "unknown backbone" in err
    no_val = Path(write_training_dataset(tmp_path / "s2", per_cell=1, splits={"train": 1.0}))
    code, _, err = cli(capsys, "fit", "--dataset", str(no_val), "--out", out, *FIT)
    assert code == 2 and "has no 'val' split" in err


def test_mixed_precision_trains_then_serves_in_float32(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``mixed_precision: on`` (what ``auto`` picks on a GPU), forced on the CPU: the
    augmentation, the fit and the export run, and the saved encoder computes in float32."""
    from training.runtime import global_dtype_policy

    dataset = write_training_dataset(tmp_path / "store", per_cell=4)
    config = tmp_path / "mixed.yaml"
    config.write_text("mixed_precision: 'on'\n")
    out = str(tmp_path / "run")
    short = ["--epochs", "1", "--steps-per-epoch", "2", "--config", str(config), *FIT]
    with global_dtype_policy("float32"):  # the fit sets its own; this process goes on testing
        code, _, err = cli(capsys, "fit", "--dataset", dataset, "--out", out, *short)
    assert code == 0, err
    summary = json.loads((Path(out) / "summary.json").read_text())
    assert summary["runtime"]["precision"] == "mixed_bfloat16"
    with zipfile.ZipFile(Path(out) / "model/encoder.keras") as saved:
        assert "mixed_" not in saved.read("config.json").decode()
    code, text, err = cli(capsys, "export", "--model", out, "--format", "json")
    assert code == 0, err
    assert max(json.loads(text)["smoke_check_max_difference"].values()) <= 1e-4


def test_a_run_folder_of_another_dataset_version_is_refused_or_overwritten(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = write_training_dataset(tmp_path / "v1", per_cell=4)
    second = write_training_dataset(tmp_path / "v2", per_cell=4, seed=1)  # another split
    out = str(tmp_path / "run")
    short = ["--epochs", "1", "--freeze-epochs", "0", "--steps-per-epoch", "2", *FIT]
    assert cli(capsys, "fit", "--dataset", first, "--out", out, *short)[0] == 0
    assert cli(capsys, "fit", "--dataset", first, "--out", out, *short)[0] == 0  # resumes
    code, _, err = cli(capsys, "fit", "--dataset", second, "--out", out, *short)
    assert code == 2 and "holds a run trained on another version of the dataset" in err
    code, out_text, err = cli(
        capsys, "fit", "--dataset", second, "--out", out, "--overwrite", *short
    )
    assert code == 0, err
    summary = json.loads((Path(out) / "summary.json").read_text())
    assert summary["dataset"]["uri"] == second

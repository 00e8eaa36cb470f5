"""Multi-label heads read at 0.5 vs at their calibrated thresholds, against chance.

Prints one markdown section: per task of a trained encoder, on the test split of a
dataset, macro-F1 at the fixed 0.5 threshold beside macro-F1 at the per-label thresholds
chosen on the validation split (those of ``encoder.json``, else chosen on the dataset's
val split by ``evaluate``), top-1 / accuracy and AUC, each with what chance scores on the
same images. ``--second-dataset`` adds the same figures on a dataset made differently
(another seed of the demo world: other designs, colours, backgrounds), whose thresholds
are never tuned: the encoder's own are used.

  python bench/calibration_bench.py [--model data/models/encoder/demo]
      [--dataset data/datasets/demo/v1] [--second-dataset PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.benchkit import header, table  # noqa: E402


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def rows_of(result: dict[str, Any], label: str) -> list[list[object]]:
    rows: list[list[object]] = []
    for task, report in result["tasks"].items():
        odds = report["chance"]
        headline = "accuracy" if "top1_accuracy" not in report else "top1_accuracy"
        rows.append(
            [
                label,
                task,
                result["n"],
                f"{_fmt(report[headline])} ({_fmt(odds.get(headline))})",
                _fmt(report["macro_f1"]) if "macro_f1_calibrated" in report else "argmax",
                _fmt(report.get("macro_f1_calibrated", report["macro_f1"])),
                _fmt(odds.get("macro_f1")),
                _fmt(report["macro_auc"]),
            ]
        )
    return rows


def keep_thresholds(meta_path: Path, result: dict[str, Any], dataset: str) -> None:
    """Record the thresholds the first evaluation chose, so the second one uses them
    instead of tuning its own on the second dataset's val split."""
    meta = json.loads(meta_path.read_text())
    if "thresholds" in meta:
        return
    meta["thresholds"] = {
        task: {cls: v["threshold"] for cls, v in report["calibrated"]["labels"].items()}
        for task, report in result["tasks"].items()
        if "calibrated" in report
    }
    meta["calibration"] = {"split": f"val of {dataset}"}
    meta_path.write_text(json.dumps(meta))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="data/models/encoder/demo")
    parser.add_argument("--dataset", default="data/datasets/demo/v1")
    parser.add_argument("--second-dataset", help="a dataset made differently (no tuning on it)")
    parser.add_argument("--split", default="test")
    args = parser.parse_args()
    header(
        "Calibrated thresholds of the multi-label heads (issue 15)",
        "macro-F1 at 0.5 vs at per-label thresholds chosen on val; (chance) beside each figure",
    )
    source = Path(args.model) / "model"
    if not (source / "encoder.json").is_file() or not Path(args.dataset).is_dir():
        print(f"not run: no trained encoder at {source} or no dataset at {args.dataset} "
              "(run `make demo` first)\n")  # fmt: skip
        return
    from training.evaluation import evaluate

    rows: list[list[object]] = []
    sources: list[str] = []
    with tempfile.TemporaryDirectory(prefix="s2s-calibration-") as tmp:
        copy = Path(tmp) / "run"
        shutil.copytree(source, copy / "model")  # evaluate writes eval/ beside it
        first = evaluate(str(copy), args.dataset, args.split)
        rows += rows_of(first, f"{args.dataset} ({args.split})")
        sources.append(first["calibration"].get("source", "no multi-label head"))
        if args.second_dataset:
            keep_thresholds(copy / "model/encoder.json", first, args.dataset)
            second = evaluate(str(copy), args.second_dataset, args.split)
            rows += rows_of(second, f"{args.second_dataset} ({args.split})")
    print(f"Encoder: `{args.model}`; thresholds: {sources[0]}.\n")
    table(
        ["dataset (split)", "task", "images", "top-1 / accuracy (chance)", "macro-F1 at 0.5",
         "macro-F1 calibrated", "chance macro-F1", "macro AUC"],
        rows,
        align="llrrrrrr",
    )  # fmt: skip


if __name__ == "__main__":
    main()

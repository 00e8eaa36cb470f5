"""Evaluate a trained encoder on the test split of a dataset.

Per task: accuracy, per-label precision/recall/F1 at 0.5 and AUC, confusion matrices
(PNG and JSON); a short text summary. Written to <model>/eval/<split>/.

Example:
  s2s-train evaluate --model data/models/encoder/demo --dataset data/datasets/demo/v1
  s2s-train evaluate --model .../r2 --dataset ... --compare .../r1
  s2s-train evaluate --model ... --dataset ... --views mirror,zoom-in
"""

from __future__ import annotations

import argparse

from dataset.core import clikit

NAME = "evaluate"
HELP = "per-task accuracy, per-label P/R/F1/AUC and confusion matrices on the test split"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, metavar="MODEL_URI", help="run folder of fit")
    parser.add_argument("--dataset", required=True, metavar="URI", help="dataset version folder")
    parser.add_argument("--split", default="test", help="split to evaluate (default: test)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--compare", metavar="RUN", help="previous run folder or metrics.json")
    parser.add_argument("--cache-dir", help="where remote shards are staged")
    parser.add_argument("--views", metavar="NAMES", default="",
                        help="average the heads over the image and these altered copies "
                        "(comma-separated: mirror, zoom-in, zoom-out); default: the image only")  # fmt: skip
    clikit.add_format_argument(parser)


def run(args: argparse.Namespace) -> int:
    from training.evaluation import evaluate, summary_text
    from training.views import parse_views

    views = parse_views(args.views)
    result = evaluate(
        args.model, args.dataset, args.split, args.batch_size, args.compare, args.cache_dir,
        views=views,
    )  # fmt: skip
    clikit.emit(result, args.format, summary_text(result))
    return 0

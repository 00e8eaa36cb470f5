"""Train the attribute encoders on a dataset's TFRecord shards.

Every option can be set in a YAML --config (see k8s/train/train.yaml); flags override
it, and the resolved config is saved as <out>/config.yaml. A killed run started again
with the same --out resumes where it stopped.

Example:
  s2s-train fit --dataset data/datasets/demo/v1 --out data/models/encoder/demo \\
      --backbone tiny --weights none --image-size 64 --epochs 4 --batch-size 32
  s2s-train fit --config k8s/train/train.yaml --dataset s3://bucket/datasets/x/v1 \\
      --out s3://bucket/models/encoder/r1
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Any

from dataset.core import clikit

NAME = "fit"
HELP = "train the attribute encoders (shared backbone, one head per task)"

# flag dest -> (type, help); each overrides the config key of the same name.
OVERRIDES: dict[str, tuple[Any, str]] = {
    "backbone": (str, "resnet50 (default), small (the CPU demo) or tiny (tests)"),
    "weights": (str, "imagenet (default), none, or a local .h5/.keras weights file"),
    "image_size": (int, "input size (default: the shards' size)"),
    "epochs": (int, "epochs in all (default 20)"),
    "freeze_epochs": (
        int,
        "first epochs with the backbone frozen (default 2; 0 with --weights none)",
    ),
    "batch_size": (int, "global batch size (default 64)"),
    "steps_per_epoch": (int, "default: one pass over the training repeats"),
    "learning_rate": (float, "initial learning rate (default 1e-4)"),
    "final_learning_rate": (float, "learning rate at the end (default initial / 1000)"),
    "schedule": (str, "cosine (default), exponential or constant"),
    "clipnorm": (float, "gradient clipping norm (default 1.0)"),
    "monitor": (str, "metric of the best checkpoint (default val_loss)"),
    "strategy": (str, "auto (default), default, mirrored or multi_worker"),
    "mixed_precision": (str, "auto (default: on with a GPU; bfloat16 from compute 8.0), on or off"),
    "input_pipeline": (
        str,
        "auto (default: tf_data when TensorFlow is importable), tf_data or python",
    ),
    "xla": (str, "auto (default: on with a GPU, one worker), on or off"),
    "cache_dir": (str, "where remote shards are staged"),
    "work_dir": (str, "local run folder when --out is remote"),
    "seed": (int, "random seed (default 0)"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", required=True, metavar="URI", help="dataset version folder")
    parser.add_argument("--out", required=True, metavar="MODEL_URI", help="run folder")
    parser.add_argument("--config", metavar="YAML", help="training config file")
    parser.add_argument("--tasks", help="comma-separated tasks (default: all of the dataset)")
    parser.add_argument(
        "--colour-statistics",
        metavar="TASKS",
        help="comma-separated heads that also read the image's colour statistics",
    )
    parser.add_argument(
        "--separate",
        action="store_true",
        default=None,
        help="one backbone per task (the retailer's setup) instead of one shared",
    )
    parser.add_argument(
        "--retrieval",
        action="store_true",
        default=None,
        help="add the street-to-shop embedding head, trained on user-shop pairs and product "
        "views (the config's retrieval: block sets its size, temperature and weight)",
    )
    parser.add_argument(
        "--deterministic",
        action="store_true",
        default=None,
        help="the same --seed gives the same run on the same machine (ordered, slower input)",
    )
    for dest, (kind, text) in OVERRIDES.items():
        parser.add_argument(f"--{dest.replace('_', '-')}", dest=dest, type=kind, help=text)
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="start over when --out holds a run (without it: a run of the same dataset and "
        "settings resumes, or is left as it is once finished; any other is an error)",
    )
    clikit.add_format_argument(parser)


def run(args: argparse.Namespace) -> int:
    from training.config import load_config
    from training.trainer import fit, images_per_second

    overrides = {dest: getattr(args, dest) for dest in OVERRIDES}
    overrides["separate"] = args.separate
    overrides["deterministic"] = args.deterministic
    if args.retrieval:
        overrides["retrieval"] = {"enabled": True}
    if args.tasks:
        overrides["tasks"] = [t.strip() for t in args.tasks.split(",") if t.strip()]
    if args.colour_statistics:
        overrides["colour_statistics"] = [
            t.strip() for t in args.colour_statistics.split(",") if t.strip()
        ]
    config = load_config(args.config, overrides)
    # Keras prints its epoch lines to stdout: with --format json, stdout is the JSON alone.
    progress = (
        contextlib.redirect_stdout(sys.stderr)
        if args.format == "json"
        else contextlib.nullcontext()
    )
    with progress:
        summary = fit(config, args.dataset, args.out, overwrite=args.overwrite)
    lines = [f"trained {args.out} (encoder {summary.get('encoder_id', '-')})"]
    for task, report in summary["val"].items():
        extra = f", top-1 {report['top1_accuracy']:.3f}" if "top1_accuracy" in report else ""
        lines.append(f"  val {task}: accuracy {report['accuracy']:.3f}{extra}")
    rate = images_per_second(summary)
    lines.append(f"  {rate:.0f} images/s" if rate else "  images/s: n/a")
    clikit.emit(summary, args.format, "\n".join(lines))
    return 0

"""Build a dataset version from one config file: every stage, cached.

Runs the stages listed in the config (default: map, merge, check, dedup, segment,
split, rebalance, weights, export, report) and writes under
datasets/<name>/<version>/ of the store: manifest.parquet, taxonomy.yaml,
label_weights.json, report.html, summary.json, config.yaml (resolved) and shards/.
A stage whose inputs (content of its input files, its config section, the taxonomy)
have not changed since the last run is skipped; stages/<stage>.json records why.

Example:
  s2s-dataset build --config dataset/configs/demo.yaml --store data/store
  s2s-dataset build --config dataset.yaml --set split.seed=3 --format json
"""

from __future__ import annotations

import argparse

from dataset.core.clikit import add_format_argument, emit

NAME = "build"
HELP = "run the whole dataset pipeline (map ... export, report) from a config file"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, metavar="YAML", help="build config file")
    parser.add_argument(
        "--store",
        metavar="URI",
        help="local folder or s3://bucket/prefix (default: 'store' in the config)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        dest="overrides",
        help="override a config value, e.g. --set export.image_size=128 (repeatable)",
    )
    parser.add_argument("--force", action="store_true", help="rerun every stage")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_format_argument(parser)


def run(args: argparse.Namespace) -> int:
    from dataset.build.run import build

    summary = build(
        args.config,
        args.store,
        overrides=args.overrides,
        force=args.force,
        show_progress=not args.no_progress,
    )
    lines = [f"dataset {summary['dataset']} in {summary['store']}"]
    for name, result in summary["stages"].items():
        lines.append(f"  {name:<10} {result['status']:<7} {result['seconds']:>8.2f} s")
    emit(summary, args.format, "\n".join(lines))
    return 0

"""Arguments and report formatting shared by the ``map`` and ``unmapped`` commands."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

SKIPPED_SHOWN = 5  # skipped record lines printed (the saved summary keeps more)

if TYPE_CHECKING:
    from dataset.mapping.marketplace import MapConfig


def add_mapping_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--site", required=True, help="marketplace name (raw/<site>/ in the store)")
    parser.add_argument(
        "--tables",
        metavar="DIR",
        help="mapping tables folder holding <site>/<task>.yaml (default: the shipped tables)",
    )
    parser.add_argument(
        "--taxonomy", metavar="FILE", help="taxonomy YAML (default: dataset/taxonomy/house.yaml)"
    )


def map_config(args: argparse.Namespace) -> MapConfig:
    from dataset.mapping.marketplace import MapConfig

    return MapConfig(tables=args.tables, taxonomy=args.taxonomy, progress=args.format == "text")


def coverage_lines(summary: dict[str, Any]) -> list[str]:
    """Human lines: one per task with its coverage and first unmapped values."""
    lines = []
    for task, cov in summary["coverage"].items():
        missing = f"  unmapped: {', '.join(cov['top_unmapped'])}" if cov["top_unmapped"] else ""
        lines.append(
            f"  {task:<9} {cov['coverage']:7.1%} of {cov['listings_with_value']} listings "
            f"with a value ({cov['distinct_raw_values']} distinct){missing}"
        )
    return lines


def report_lines(summary: dict[str, Any]) -> list[str]:
    """Human lines on what was read and overridden: skipped record lines, table overrides."""
    read = summary["read"]
    lines = []
    skipped = read["skipped_malformed"] + read["skipped_missing_fields"]
    if skipped:
        lines.append(
            f"  skipped {skipped} record line(s) ({read['skipped_malformed']} malformed, "
            f"{read['skipped_missing_fields']} missing fields); first:"
        )
        lines += [f"    {problem}" for problem in read["problems"][:SKIPPED_SHOWN]]
    lines += [f"  override: {line}" for line in summary["overrides"]]
    return lines

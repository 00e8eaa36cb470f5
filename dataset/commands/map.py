"""Apply the mapping tables to every listing of a site and write the labelled table.

Reads all listing records of the site (all categories, all runs, the latest record of
each item), maps colours, materials, gender and category onto the house taxonomy and
writes, under --out (a local folder or s3:// URI):

  labelled.parquet    one row per stored photo, one list column per taxonomy task
  map-summary.json    rows in and out, coverage per task, skipped lines, exclusions

Listings whose type cannot be mapped are left out and counted, never guessed.
Malformed lines are skipped and counted with their file:line (the first few printed).
A site entry that contradicts the shared tables (_common) is printed, one line each.
With --strict, any unmapped value fails the command (exit 1) and nothing is written;
a table line still reading ??? (or naming no house label) fails any run, and every such
line of every table is listed in that one error.

Example:
  s2s-dataset map --store ./data --site demo --out ./data/datasets/demo/v1 --strict
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from dataset.core import clikit
from dataset.mapping.command_line import (
    add_mapping_arguments,
    coverage_lines,
    map_config,
    report_lines,
)

NAME = "map"
HELP = "map a site's raw labels onto the house taxonomy (labelled.parquet)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    clikit.add_store_argument(parser)
    add_mapping_arguments(parser)
    parser.add_argument(
        "--out", required=True, metavar="DATASET_URI", help="output folder or s3:// URI"
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="fail (exit 1, write nothing) if any value is unmapped",
    )
    clikit.add_format_argument(parser)


def _unmapped_text(task: str, cov: dict[str, Any]) -> str:
    """``task: a, b`` and how many more values the summary does not name."""
    more = cov["unmapped_values"] - len(cov["top_unmapped"])
    return f"{task}: {', '.join(cov['top_unmapped'])}" + (f" (+{more} more)" if more else "")


def run(args: argparse.Namespace) -> int:
    from dataset.core.store import open_store
    from dataset.mapping.marketplace import map_listings

    store = open_store(args.store)
    store.check()
    out = open_store(args.out)
    out.check()
    table, summary = map_listings(store, args.site, map_config(args))
    summary["out"] = out.uri_for("labelled.parquet")
    text = "\n".join(
        [
            f"map {args.site}: {summary['listings_in']} listings in, "
            f"{summary['listings_out']} listings / {summary['rows_out']} images out",
            *coverage_lines(summary),
            *report_lines(summary),
            f"  left out: {summary['excluded_listings']}",
        ]
    )
    if args.strict and not summary["fully_mapped"]:
        clikit.emit(summary, args.format, text)
        unmapped = "; ".join(
            _unmapped_text(task, cov)
            for task, cov in summary["coverage"].items()
            if cov["top_unmapped"]
        )
        print(
            f"s2s-dataset map: error: --strict: unmapped values ({unmapped}); nothing written. "
            f"Run `s2s-dataset unmapped --store {args.store} --site {args.site}`",
            file=sys.stderr,
        )
        return 1
    out.write_parquet("labelled.parquet", table)
    out.write_json("map-summary.json", summary)
    clikit.emit(summary, args.format, text + f"\n  wrote {summary['out']}")
    return 0

"""List every raw label of a site that no mapping table covers, worst first.

For each task (colour, material, gender, type) it lists the normalised values without
a table entry, how many listings each affects, raw examples, example listing URLs and a
suggested house label: a spelling match on the words the tables already know, or for
colours the nearest house colour (CIELAB) of a known colour name. The text output ends
with the lines to paste into each table file; then run `s2s-dataset map`.

The summary (listings in, coverage per task, unmapped values) and the full list are also
saved as JSON in the store, next to the site's records: raw/<site>/unmapped-summary.json.

Example:
  s2s-dataset unmapped --store ./data --site demo
  s2s-dataset unmapped --store s3://bucket/s2s --site demo --format csv > todo.csv
"""

from __future__ import annotations

import argparse
import io
import json
from typing import Any

from dataset.core import clikit
from dataset.mapping.command_line import add_mapping_arguments, coverage_lines, map_config

NAME = "unmapped"
HELP = "list raw values with no mapping, with suggested house labels"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    clikit.add_store_argument(parser)
    add_mapping_arguments(parser)
    clikit.add_format_argument(parser, ("text", "csv", "json"))


def _label(suggestion: object) -> str:
    return suggestion if isinstance(suggestion, str) else "???"


def _text(frame: Any, summary: dict[str, Any]) -> str:
    lines = [f"unmapped values of {summary['site']} ({summary['listings_in']} listings)"]
    lines += coverage_lines(summary)
    if not len(frame):
        lines.append("every value is mapped: coverage 100%")
        return "\n".join(lines)
    lines.append("")
    lines.append(f"{'task':<9} {'listings':>8}  {'value':<22} {'suggestion':<14} example")
    for row in frame.itertuples():
        example = row.example_urls[0] if row.example_urls else ""
        lines.append(
            f"{row.task:<9} {row.listings:>8}  {row.value:<22} {_label(row.suggestion):<14} "
            f"{example}  ({row.reason})"
        )
    lines.append("")
    lines.append("to fix, add under `values:` (check each suggestion; `ignore` drops a value):")
    for table, group in frame.groupby("table", sort=True):
        lines.append(f"  {table}")
        for row in group.itertuples():
            lines.append(f"    {row.value}: {_label(row.suggestion)}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from dataset.core.store import open_store
    from dataset.mapping.unmapped import summary_key, unmapped_values

    store = open_store(args.store)
    store.check()
    frame, summary = unmapped_values(store, args.site, map_config(args))
    summary["saved"] = store.uri_for(summary_key(args.site))
    report = {"summary": summary, "unmapped": frame.to_dict("records")}
    store.write_json(summary_key(args.site), report)
    if args.format == "csv":
        buffer = io.StringIO()
        flat = frame.assign(
            raw_examples=frame["raw_examples"].map(" | ".join),
            example_urls=frame["example_urls"].map(" ".join),
        )
        flat.to_csv(buffer, index=False)
        print(buffer.getvalue(), end="")
    elif args.format == "json":
        print(json.dumps(report, indent=2))
    else:
        print(_text(frame, summary) + f"\nsaved {summary['saved']}")
    return 0

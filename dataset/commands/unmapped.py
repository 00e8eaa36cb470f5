"""List every raw label of a site that no mapping table covers, worst first.

For each task (colour, material, gender, type) it lists the normalised values without
a table entry, how many listings each affects, raw examples, example listing URLs and a
suggested house label with its confidence and reason (the shared tables, the taxonomy's
names, a colour-name lexicon, the words inside a value, a spelling match; a value no
source settles reads ???). The least certain suggestions come first. A site without
tables is mapped with the shared tables (_common). The text output also prints skipped
record lines, site entries overriding the shared tables, and ends with the lines to paste
into each table file (or the file to create); then run `s2s-dataset map --strict`.

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
from dataset.mapping.command_line import (
    add_mapping_arguments,
    coverage_lines,
    map_config,
    report_lines,
)

NAME = "unmapped"
HELP = "list raw values with no mapping, with suggested house labels"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    clikit.add_store_argument(parser)
    add_mapping_arguments(parser)
    clikit.add_format_argument(parser, ("text", "csv", "json"))


def _text(frame: Any, summary: dict[str, Any], new_site: str) -> str:
    from dataset.mapping.scaffold import table_text, value_line

    site = summary["site"]
    lines = [f"unmapped values of {site} ({summary['listings_in']} listings)"]
    lines += coverage_lines(summary)
    lines += report_lines(summary)
    if summary["tables_missing"]:
        lines.append(
            f"  no table yet for {', '.join(summary['tables_missing'])}: the shared tables "
            f"(_common) stand in; `{new_site}` writes them (those with values to map are "
            "shown below)"
        )
    if not len(frame):
        lines.append("every value is mapped: coverage 100%")
        return "\n".join(lines)
    lines.append("")
    lines.append(
        f"{'task':<9} {'listings':>8}  {'value':<22} {'suggestion':<14} {'confidence':<10} "
        "example  (reason)"
    )
    for row in frame.itertuples():
        example = row.example_urls[0] if row.example_urls else ""
        lines.append(
            f"{row.task:<9} {row.listings:>8}  {row.value:<22} {row.suggestion:<14} "
            f"{row.confidence:<10} {example}  ({row.reason})"
        )
    lines.append("")
    lines.append("to fix (check each line; ??? needs a house label, a list of them or `ignore`):")
    for (table, exists), group in frame.groupby(["table", "table_exists"], sort=True):
        records = group.to_dict("records")
        if exists:
            lines.append(f"  add under `values:` of {table}")
            lines += [f"    {value_line(record)}" for record in records]
        else:
            lines.append(f"  create {table} (new-site writes it):")
            text = table_text(site, records[0]["task"], records)
            lines += [f"    {line}" for line in text.splitlines()]
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
        tables = f" --tables {args.tables}" if args.tables else ""
        new_site = f"s2s-dataset new-site --site {args.site} --store {args.store}{tables}"
        print(_text(frame, summary, new_site) + f"\nsaved {summary['saved']}")
    return 0

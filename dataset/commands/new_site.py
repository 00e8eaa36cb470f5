"""Create the mapping tables of a new marketplace: one file per field, safe by default.

Writes <tables>/<site>/<field>.yaml for each taxonomy field (colour, material, gender,
type) that has no file yet; existing files are kept. Each file extends the shared French
and English tables (`extends: [_common]`). With --store, the values of the site's
listings that the shared tables do not cover are listed in each file as commented lines,
least certain first, each with a suggested label, its confidence and reason: uncomment
the lines you accept, replace ??? and fix the rest, then run `s2s-dataset map --strict`.

Example:
  s2s-dataset new-site --site shop --store ./data
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dataset.core import clikit
from dataset.mapping.command_line import add_mapping_arguments

NAME = "new-site"
HELP = "create a new marketplace's mapping tables (extends _common, values to map commented)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    clikit.add_store_argument(parser, required=False)
    add_mapping_arguments(parser)
    clikit.add_format_argument(parser)


def run(args: argparse.Namespace) -> int:
    from dataset.core.store import open_store
    from dataset.mapping.marketplace import MapConfig
    from dataset.mapping.scaffold import write_tables
    from dataset.mapping.tables import MAPPINGS_ROOT, check_site_name
    from dataset.mapping.unmapped import unmapped_values
    from dataset.taxonomy.schema import load_taxonomy

    check_site_name(args.site)
    root = Path(args.tables) if args.tables else MAPPINGS_ROOT
    rows = None
    if args.store:
        store = open_store(args.store)
        store.check()
        config = MapConfig(tables=args.tables, taxonomy=args.taxonomy)
        frame, _ = unmapped_values(store, args.site, config)
        rows = frame.to_dict("records")
    files = write_tables(root, args.site, load_taxonomy(args.taxonomy).tasks, rows)
    listed = len(rows) if rows is not None else 0
    report = {"site": args.site, "files": files, "values_listed": listed}
    text = "\n".join(f"{state:<8} {path}" for path, state in files.items())
    clikit.emit(report, args.format, text + f"\n{listed} value(s) to map listed as comments")
    return 0

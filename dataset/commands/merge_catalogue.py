"""Merge the house catalogue export with the marketplace table into one dataset manifest.

The export (CSV or Parquet) has one row per product: product_id, view_1..view_5 (image
store keys; the first --views are kept, the rest are backs and close-ups), colour_ids,
material_ids, gender_id (cells may hold several ids: "9,17") and product_type. The code
table (YAML) maps house ids and fine product types to taxonomy labels (blouson, trench,
perfecto -> jackets-coats). Unknown ids are counted and reported; a product whose type
is unknown is left out. Writes under --out: manifest.parquet (one row per image: source,
domain, one list column per task, pair_id), taxonomy.yaml and merge-summary.json.

Example:
  s2s-dataset merge-catalogue --catalogue ./data/catalogue/demo/export.csv \\
      --codes ./data/catalogue/demo/codes.yaml --pairs ./data/catalogue/demo/pairs.csv \\
      --marketplace ./data/datasets/demo/v1/labelled.parquet --out ./data/datasets/demo/v1
"""

from __future__ import annotations

import argparse

from dataset.core import clikit

NAME = "merge-catalogue"
HELP = "merge a house catalogue export (+ marketplace table) into manifest.parquet"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--catalogue", required=True, metavar="EXPORT", help=".csv or .parquet")
    parser.add_argument("--codes", required=True, metavar="CODES.yaml", help="house code table")
    parser.add_argument("--marketplace", metavar="LABELLED", help="labelled.parquet from `map`")
    parser.add_argument("--pairs", metavar="PAIRS.csv", help="site,item_id,pair_id of true pairs")
    parser.add_argument("--views", type=int, default=2, help="views kept per product (default 2)")
    parser.add_argument("--image-prefix", default="", help="prepended to view cells (store keys)")
    parser.add_argument("--taxonomy", metavar="FILE", help="taxonomy YAML (default: house)")
    parser.add_argument("--out", required=True, metavar="DATASET_URI", help="folder or s3:// URI")
    clikit.add_format_argument(parser)


def run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from dataset.catalogue.codes import parse_codes
    from dataset.catalogue.merge import MergeConfig, merge_catalogue
    from dataset.core.errors import UserError
    from dataset.core.store import open_store
    from dataset.core.uri import read_table, split_uri
    from dataset.taxonomy.schema import load_taxonomy

    try:
        config = MergeConfig(views=args.views, image_prefix=args.image_prefix)
    except ValidationError as exc:
        raise UserError(f"--views: {exc.errors()[0]['msg']}. Received: {args.views}") from None
    taxonomy = load_taxonomy(args.taxonomy)
    codes_store, codes_key = split_uri(args.codes)
    codes = parse_codes(codes_store.read_text(codes_key), codes_store.uri_for(codes_key), taxonomy)
    out = open_store(args.out)
    out.check()
    export = read_table(args.catalogue, "catalogue export")
    marketplace = read_table(args.marketplace, "marketplace table") if args.marketplace else None
    pairs = read_table(args.pairs, "pairs table") if args.pairs else None
    manifest, summary = merge_catalogue(
        export, codes, taxonomy, config, marketplace, pairs, source=args.catalogue
    )
    summary.update(
        stage="merge-catalogue",
        catalogue=args.catalogue,
        codes=args.codes,
        taxonomy_version=taxonomy.version,
        out=out.uri_for("manifest.parquet"),
    )
    out.write_parquet("manifest.parquet", manifest)
    out.write_text("taxonomy.yaml", taxonomy.to_yaml())
    out.write_json("merge-summary.json", summary)
    unknown = summary["unknown_codes"]
    text = "\n".join(
        [
            f"merge-catalogue: {summary['products_in']} products in, "
            f"{summary['products_out']} products / {summary['images_out']} images out"
            + (
                f", {summary.get('marketplace_images_in', 0)} marketplace images"
                if marketplace is not None
                else ""
            ),
            "  coverage: " + ", ".join(f"{t} {c:.1%}" for t, c in summary["coverage"].items()),
            f"  unknown codes: {unknown if unknown else 'none'}",
            f"  left out: {summary['excluded_products'] or 'none'}",
            f"  pairs: {summary.get('pairs', 'none given')}",
            f"  wrote {summary['out']} ({summary['rows_out']} rows)",
        ]
    )
    clikit.emit(summary, args.format, text)
    return 0

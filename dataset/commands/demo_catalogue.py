"""Generate the demo house catalogue export (studio shots, house code ids, true pairs).

Deterministic for a seed: the products are the catalogue designs of the synthetic garment
universe that also feeds the demo marketplace (use the same --seed and
--items-per-category as the demo site). Writes under catalogue/demo/ in the store:
images/<product>-<view>.jpg (2 to 5 views each), shoppers/<product>-<k>.jpg (customers'
photos, --shopper-photos per product), export.csv (house ids, multi-valued
cells like "9,17", fine product types), codes.yaml (the code table) and pairs.csv
(site,item_id,pair_id for the marketplace listings showing a catalogue product).

Example:
  s2s-dataset demo-catalogue --store ./data --seed 0 --size 128
"""

from __future__ import annotations

import argparse

from dataset.core import clikit

NAME = "demo-catalogue"
HELP = "generate the deterministic demo house catalogue export"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    clikit.add_store_argument(parser)
    parser.add_argument("--seed", type=int, default=0, help="universe seed (default 0)")
    parser.add_argument("--size", type=int, default=128, help="image side in pixels (default 128)")
    parser.add_argument(
        "--items-per-category", type=int, default=40, help="as given to the demo site (default 40)"
    )
    parser.add_argument(
        "--shopper-photos",
        type=int,
        default=2,
        help="customers' photos per product (default 2; 0 to 3): street-to-shop queries",
    )
    parser.add_argument("--site", default="demo", help="marketplace site name in pairs.csv")
    clikit.add_format_argument(parser)


def run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from dataset.catalogue.demo import DemoCatalogueConfig, build_demo_catalogue
    from dataset.core.errors import UserError
    from dataset.core.store import open_store

    try:
        config = DemoCatalogueConfig(
            seed=args.seed,
            image_size=args.size,
            items_per_category=args.items_per_category,
            shopper_photos=args.shopper_photos,
            site=args.site,
            progress=args.format == "text",
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        raise UserError(
            f"--{str(error['loc'][0]).replace('_', '-')}: {error['msg']}. Received: {error['input']}"
        ) from None
    store = open_store(args.store)
    store.check()
    _, summary = build_demo_catalogue(store, config)
    text = (
        f"demo catalogue: {summary['products']} products, {summary['images']} images and "
        f"{summary['shopper_photos']} customers' photos "
        f"({summary['images_written']} new), {summary['multi_valued_cells']} multi-valued id "
        f"cells, {summary['pairs']} marketplace listings paired with "
        f"{summary['paired_products']} products\n  wrote {summary['export']}"
    )
    clikit.emit(summary, args.format, text)
    return 0

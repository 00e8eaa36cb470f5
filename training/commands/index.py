"""Build a street-to-shop search index from the shop images of a dataset.

Encodes the catalogue images of the dataset manifest (rows with domain == "shop"; by
default the first two views of each product, the studio front views), or with --pairs
the shop garments of a DeepFashion2 folder, each cropped by its bounding box (boxes
checked: clamped, or skipped and counted), in batches,
combines the task encodings (all tasks concatenated and L2-normalised by default) and
writes the index: embeddings.npy (float16), items.parquet, index.json and, for large
galleries, an approximate IVF part (ivf.npz).

Example:
  s2s-train index --encoder data/models/encoder/r1/export \\
      --dataset data/datasets/demo/v1 --out data/indexes/demo
  s2s-train index --encoder s3://models/encoder/r1/export --dataset s3://data/datasets/demo/v1 \\
      --out s3://data/indexes/demo --weights colour=2,type=1,material=0.5,gender=0.5
  s2s-train index --encoder data/models/encoder/r1/export --pairs ~/deepfashion2/validation \
      --out data/indexes/df2
"""

from __future__ import annotations

import argparse
import logging
import time

from dataset.core import clikit
from training.retrieval.cli_args import add_combination_arguments, add_encoding_arguments

NAME = "index"
HELP = "encode the catalogue images of a dataset into a search index"
IVF_AUTO_MIN = 10_000  # below this, exact search is fast enough that IVF only loses recall

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--encoder", required=True, metavar="MODEL", help="exported encoder URI")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", metavar="URI", help="dataset folder or manifest.parquet URI")
    source.add_argument(
        "--pairs",
        metavar="DF2_FOLDER",
        help="DeepFashion2 folder (image/ + annos/): index its shop garments by their boxes",
    )
    parser.add_argument("--out", required=True, metavar="INDEX_URI", help="index folder URI")
    add_encoding_arguments(parser)
    add_combination_arguments(parser)
    parser.add_argument(
        "--ivf",
        choices=["auto", "on", "off"],
        default="auto",
        help=f"approximate IVF part (auto: from {IVF_AUTO_MIN} images)",
    )
    parser.add_argument("--nlist", type=int, help="IVF cells (default about sqrt(count))")
    clikit.add_format_argument(parser)


def run(args: argparse.Namespace) -> int:
    from dataset.core.errors import UserError
    from dataset.core.store import open_store
    from training.retrieval.embed import choose_combination, combine, encode_images
    from training.retrieval.encoder_loading import load_encoder
    from training.retrieval.index import SearchIndex
    from training.retrieval.knn import default_nlist
    from training.retrieval.sources import load_pairs, read_manifest, shop_rows

    started = time.perf_counter()
    open_store(args.out).check()
    if args.pairs:
        pairs = load_pairs(args.pairs, args.store, args.views)
        store, where, skipped = pairs.store, pairs.source, dict(pairs.skipped)
        # match_key: what a query must share to be a hit (DeepFashion2: pair_id/style).
        shop = pairs.role("gallery").assign(pair_id=lambda f: f["match_key"])
        boxes = list(shop["box"])
    else:
        store, frame, where = read_manifest(args.dataset, args.store)
        shop = shop_rows(frame, args.views).reset_index(drop=True)
        boxes, skipped = None, {}
    if shop.empty:
        raise UserError(f"{where}: no shop (catalogue) rows to index")
    encoder = load_encoder(args.encoder)
    combination = choose_combination(encoder, args.embedding, args.weights, args.block_norm)
    encodings, kept = encode_images(
        encoder, store, list(shop["image_path"]), boxes=boxes, batch_size=args.batch_size,
        desc="indexing",
    )  # fmt: skip
    if len(kept) == 0:
        raise UserError(f"{where}: none of the {len(shop)} shop images could be decoded")
    items = shop.iloc[kept].reset_index(drop=True)
    items = items[["product_id", "image_path", "pair_id", "category", "view"]]
    index = SearchIndex(
        embeddings=combine(encodings, combination).astype("float32"),
        items=items,
        encoder_id=encoder.encoder_id,
        combination=combination,
        encoder_uri=args.encoder,
        image_store=store.uri,
        extra={"dataset": where, "views": args.views},
    )
    if args.ivf == "on" or (args.ivf == "auto" and index.count >= IVF_AUTO_MIN):
        index = index.with_ivf(args.nlist or default_nlist(index.count))
    index.save(args.out)
    summary = {
        "index": args.out,
        "images": index.count,
        "products": int(items["product_id"].nunique()),
        "skipped_unreadable": int(len(shop) - len(kept)),
        "skipped": skipped,
        "dims": int(index.embeddings.shape[1]),
        "encoder_id": encoder.encoder_id,
        "ivf_nlist": index.ivf.nlist if index.ivf else None,
        "seconds": round(time.perf_counter() - started, 2),
    }
    clikit.emit(
        summary,
        args.format,
        f"indexed {summary['images']} images of {summary['products']} products "
        f"({summary['skipped_unreadable']} unreadable skipped"
        + "".join(f", {n} {reason}" for reason, n in sorted(skipped.items()))
        + f") into {args.out} "
        f"[{summary['dims']} dims, IVF {summary['ivf_nlist'] or 'off'}]",
    )
    return 0

"""Find the catalogue products that look like a shopper's photo.

Encodes the photo with the index's encoder (the one recorded in index.json, or
--encoder, which must be the same encoder: a mismatch is refused), combines the task
encodings the way the index did, and prints the top products with their cosine scores.
--grid writes the query beside its results; --pair-id marks the results of that pair
(the true product of a known user photo) as hits. --box x1,y1,x2,y2 searches only that
part of the photo (pixels; clamped to the photo, refused when it has no area or lies
outside). --segment cuts the garment out of a cluttered photo with GrabCut first, in the
box of the garment localiser given by --localiser (`s2s-train fit-localiser`'s
localiser.keras; the backdrop box is the fallback), else in the backdrop box.

It also prints the attributes the encoder sees in the photo: the most probable class
of single-label tasks and, for multi-label ones, every label at or above its calibrated
threshold (encoder.json; 0.5 for an encoder without thresholds).

Example:
  s2s-train search --index data/indexes/demo --image my-photo.jpg --top 10 \\
      --grid my-photo-results.png
  s2s-train search --index s3://data/indexes/demo --image photo.jpg --format json
  s2s-train search --index data/indexes/df2 --image street.jpg --box 120,40,380,460
"""

from __future__ import annotations

import argparse
import logging

from dataset.core import clikit

NAME = "search"
HELP = "top catalogue products for a photo (table, JSON or a picture grid)"

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--index", required=True, metavar="INDEX_URI", help="index folder URI")
    parser.add_argument("--image", required=True, metavar="PHOTO", help="query photo (path or URI)")
    parser.add_argument("--top", type=int, default=10, help="products to return (default 10)")
    parser.add_argument("--grid", metavar="PNG", help="write the query and its results here")
    parser.add_argument(
        "--box", metavar="X1,Y1,X2,Y2", help="search this part of the photo (pixels)"
    )
    parser.add_argument("--segment", action="store_true", help="GrabCut the garment first")
    parser.add_argument(
        "--localiser",
        metavar="MODEL",
        help="with --segment: garment localiser (localiser.keras URI) that gives the box",
    )
    parser.add_argument(
        "--encoder", metavar="MODEL", help="encoder URI (default: the one recorded in the index)"
    )
    parser.add_argument("--pair-id", help="highlight results of this pair_id as hits")
    parser.add_argument("--approx", action="store_true", help="use the index's IVF part")
    parser.add_argument("--nprobe", type=int, help="IVF cells scanned (default nlist/16)")
    clikit.add_format_argument(parser)


def run(args: argparse.Namespace) -> int:
    from dataset.core.errors import StoreError, UserError
    from dataset.core.store import open_store
    from training.calibration import attributes
    from training.retrieval.boxes import crop_to_box, parse_box
    from training.retrieval.embed import combine, encode_array, load_image
    from training.retrieval.encoder_loading import load_encoder, read_encoder_meta
    from training.retrieval.grid import Result, render_grid, save_png
    from training.retrieval.index import SearchIndex
    from training.retrieval.uris import read_uri, write_uri

    if args.top < 1:
        raise UserError(f"--top must be >= 1. Received: {args.top}")
    if args.localiser and not args.segment:
        raise UserError(f"--localiser is used by --segment only. Received: {args.localiser}")
    # Cheap checks first: a bad photo or a mismatched encoder fails before TensorFlow loads.
    image = load_image(read_uri(args.image), args.image)
    if args.box:
        image = crop_to_box(image, parse_box(args.box), args.image)
    index = SearchIndex.load(args.index)
    encoder_uri = args.encoder or index.encoder_uri
    meta = read_encoder_meta(encoder_uri)
    index.check_encoder(str(meta["encoder_id"]), encoder_uri)
    note = ""
    if args.segment:
        from dataset.segmentation.localiser import Localiser
        from training.retrieval.segment import segment_garment
        from training.retrieval.uris import split_uri

        localiser = Localiser.from_store(*split_uri(args.localiser)) if args.localiser else None
        cut = segment_garment(image, localiser=localiser)
        image, note = cut.image, cut.note()
    encoder = load_encoder(encoder_uri)
    index.check_encoder(encoder.encoder_id, encoder_uri)
    encodings, probs = encode_array(encoder, image)
    query = combine(encodings, index.combination).astype("float32")[0]
    seen = attributes(encoder.task_specs(), probs, encoder.thresholds)
    found = index.top_products(query, args.top, args.approx, args.nprobe)
    pair_rank, pair_best = None, None
    if args.pair_id:
        found["hit"] = found["pair_id"] == args.pair_id
        pair_best = index.pair_best(query, args.pair_id)
        pair_rank = None if pair_best is None else int(pair_best["rank"])
    # Outside the top: the true product is still shown (last), so a miss can be judged.
    outside = pair_best if pair_rank is not None and pair_rank > len(found) else None
    records = [
        {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        for row in found.to_dict(orient="records")
    ]
    if args.grid:
        images = open_store(index.image_store) if index.image_store else None

        def fetch(key: str) -> bytes | None:
            try:
                return images.read_bytes(key) if images else None
            except StoreError:
                return None

        results = [
            Result(
                rank=r["rank"],
                score=r["score"],
                label=f"{r['product_id']} · {r.get('category', '')}",
                image=fetch(r["image_path"]),
                hit=r.get("hit"),
            )
            for r in records
        ]
        if outside is not None:
            results.append(
                Result(
                    rank=int(outside["rank"]),
                    score=float(outside["score"]),
                    label=f"true product {outside['product_id']}",
                    image=fetch(str(outside["image_path"])),
                    hit=True,
                )
            )
        hits = sum(bool(r.get("hit")) for r in records)
        title = f"{args.image.rsplit('/', 1)[-1]}: top {len(records)} of {index.count} images"
        if args.pair_id:
            title += f" · pair {args.pair_id}: {hits} hit{'s' * (hits != 1)}"
            title += f", true product ranked #{pair_rank}" if pair_rank else ", not in the index"
            title += " (shown last)" if outside is not None else ""
        save_png(
            render_grid(image, results, title, query_note=note), lambda b: write_uri(args.grid, b)
        )
    decided = "calibrated thresholds" if encoder.thresholds else "threshold 0.5"
    lines = [
        f"query ({decided}): "
        + "; ".join(
            f"{task} " + (", ".join(f"{a['label']} {a['prob']:.2f}" for a in found) or "none")
            for task, found in seen.items()
        ),
        f"{'rank':>4}  {'score':>6}  product",
    ]
    lines += [
        f"{r['rank']:>4}  {r['score']:6.3f}  {r['product_id']}  {r.get('category', '')}"
        + ("  <- hit" if r.get("hit") else "")
        for r in records
    ]
    if args.pair_id:
        lines.append(f"pair {args.pair_id}: true product ranked #{pair_rank}")
    if args.grid:
        lines.append(f"grid: {args.grid}")
    report = {
        "query": args.image,
        "box": parse_box(args.box) if args.box else None,
        "attributes": seen,
        "thresholds": "calibrated" if encoder.thresholds else "0.5",
        "results": records,
        "grid": args.grid,
        "pair_rank": pair_rank,
        "segmentation": note or None,
    }
    if outside is not None:
        report["true_product"] = {
            k: outside[k] for k in ("product_id", "image_path", "score", "rank") if k in outside
        }
    clikit.emit(report, args.format, "\n".join(lines))
    return 0

"""Measure street-to-shop retrieval: top-k accuracy of user photos against shop photos.

Queries are user photos with a known pair; the gallery is every shop photo. A query is a
hit at k when a shop photo of its pair is among the k most similar (cosine of the
combined encodings). Ties count against the query; queries whose pair has no shop
photo are counted as "no gallery match" and left out (--unmatched miss counts them as
misses). SOURCE is either a dataset manifest (pair_id and domain columns; folder or
manifest.parquet URI) or a DeepFashion2 folder (image/*.jpg + annos/*.json; each garment
is cropped by its bounding box, a pair shares pair_id and style > 0; items without a
box are counted and skipped).

Writes report.json, topk.png and index.html (the figure and table on one page, linked
to the dataset version's report) to --out; --compare adds the differences with an earlier
report.json (and its bars to the plot).

Example:
  s2s-train eval-retrieval --encoder data/models/encoder/r1/export \\
      --pairs data/datasets/demo/v1 --top-k 1,5,10,20 --out data/eval/r1
  s2s-train eval-retrieval --encoder data/models/encoder/r2/export --pairs ~/deepfashion2/validation \\
      --compare data/eval/r1/report.json --out data/eval/r2
"""

from __future__ import annotations

import argparse
import json
import logging
import time

from dataset.core import clikit
from training.retrieval.cli_args import add_combination_arguments, add_encoding_arguments

NAME = "eval-retrieval"
HELP = "top-k consumer-to-shop retrieval accuracy (manifest or DeepFashion2)"

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--encoder", required=True, metavar="MODEL", help="exported encoder URI")
    parser.add_argument(
        "--pairs",
        required=True,
        metavar="SOURCE",
        help="dataset manifest (folder or .parquet) or DeepFashion2 folder",
    )
    parser.add_argument("--top-k", default="1,5,10,20", help="k values (default 1,5,10,20)")
    parser.add_argument("--compare", metavar="PREVIOUS_JSON", help="an earlier report.json")
    parser.add_argument(
        "--out", metavar="DIR", help="write report.json, topk.png and index.html here"
    )
    parser.add_argument(
        "--unmatched",
        choices=["exclude", "miss"],
        default="exclude",
        help="queries with no shop photo of their pair: left out (default) or misses",
    )
    parser.add_argument(
        "--split",
        default="test",
        help="manifest split the queries come from (default test: photos the encoder never "
        "trained on; 'all' for every split); the gallery is always the whole catalogue",
    )
    add_encoding_arguments(parser)
    parser.set_defaults(views=0)
    add_combination_arguments(parser)
    clikit.add_format_argument(parser)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from dataset.core.errors import UserError
    from dataset.core.store import open_store
    from training.retrieval.cli_args import parse_ks
    from training.retrieval.embed import choose_combination, combine, encode_images
    from training.retrieval.encoder_loading import load_encoder
    from training.retrieval.metrics import best_positive_ranks, chance_topk, topk_accuracy
    from training.retrieval.report import compare, plot_report, retrieval_page, summary_text
    from training.retrieval.sources import load_pairs
    from training.retrieval.uris import read_uri

    started = time.perf_counter()
    ks = parse_ks(args.top_k)
    previous = None
    if args.compare:
        try:
            previous = json.loads(read_uri(args.compare))
        except ValueError as exc:
            raise UserError(f"{args.compare}: not a report JSON ({exc})") from None
    out = open_store(args.out) if args.out else None
    if out is not None:
        out.check()
    pairs = load_pairs(args.pairs, args.store, args.views, args.split)
    frame = pairs.frame
    if (frame["role"] == "query").sum() == 0 or (frame["role"] == "gallery").sum() == 0:
        raise UserError(f"{pairs.source}: needs user photos with a pair and shop photos")
    encoder = load_encoder(args.encoder)
    combination = choose_combination(encoder, args.embedding, args.weights, args.block_norm)
    encodings, kept = encode_images(
        encoder,
        pairs.store,
        list(frame["image_path"]),
        boxes=list(frame["box"]),
        batch_size=args.batch_size,
        desc="encoding pairs",
    )
    vectors = combine(encodings, combination)
    kept_frame = frame.iloc[kept].reset_index(drop=True)
    skipped = dict(pairs.skipped)
    skipped["unreadable_image"] = int(len(frame) - len(kept))
    is_query = (kept_frame["role"] == "query").to_numpy()
    queries, gallery = kept_frame[is_query], kept_frame[~is_query]
    if queries.empty or gallery.empty:
        raise UserError(f"{pairs.source}: no readable query or gallery image left")
    ranks = best_positive_ranks(
        vectors[is_query],
        vectors[~is_query],
        list(queries["match_key"]),
        [key or None for key in gallery["match_key"]],  # unpaired shop items match nothing
    )
    report = topk_accuracy(ranks, ks, list(queries["category"]), args.unmatched)
    report.update(
        {
            "chance_top_k": chance_topk(
                list(queries["match_key"]), [key or None for key in gallery["match_key"]], ks
            ),
            "source": pairs.source,
            "query_split": args.split,
            "encoder": args.encoder,
            "encoder_id": encoder.encoder_id,
            "combination": combination.to_json(),
            "gallery": int(len(gallery)),
            "skipped": skipped,
            "mean_rank": float(np.mean(ranks[ranks > 0])) if (ranks > 0).any() else None,
            "seconds": round(time.perf_counter() - started, 2),
        }
    )
    if previous is not None:
        report["comparison"] = compare(report, previous)
    if out is not None:
        from dataset.report.figures import report_link

        png = plot_report(report, previous)
        out.write_json("report.json", report)
        out.write_bytes("topk.png", png)
        link = report_link(pairs.source, out, "index.html")
        out.write_text("index.html", retrieval_page(report, png, link))
        report["written"] = [out.uri_for(k) for k in ("report.json", "topk.png", "index.html")]
    clikit.emit(report, args.format, summary_text(report))
    return 0

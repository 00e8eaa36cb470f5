"""Draw a t-SNE map of one task's encodings, each image coloured by its label.

The colour encodings of images of one colour should gather; a map where they do not is
a quick sign the encoder has not learnt the task. Reads images of a dataset manifest
(both domains, at most --limit sampled rows) and the label column of the task (multi-label
rows take their first label).

Example:
  s2s-train plot-embeddings --encoder data/models/encoder/r1/export \\
      --dataset data/datasets/demo/v1 --task colour --out data/eval/r1/tsne-colour.png
"""

from __future__ import annotations

import argparse

from dataset.core import clikit

NAME = "plot-embeddings"
HELP = "t-SNE plot of one task's encodings coloured by label"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--encoder", required=True, metavar="MODEL", help="exported encoder URI")
    parser.add_argument(
        "--dataset", required=True, metavar="URI", help="dataset folder or manifest"
    )
    parser.add_argument("--task", default="colour", help="task whose encodings to map (colour)")
    parser.add_argument("--out", required=True, metavar="PNG", help="where to write the plot")
    parser.add_argument("--limit", type=int, default=600, help="images sampled (default 600)")
    parser.add_argument("--store", metavar="URI", help="store root of the image keys")
    parser.add_argument("--batch-size", type=int, default=32, help="images per batch")
    parser.add_argument("--seed", type=int, default=0, help="sampling and t-SNE seed")
    clikit.add_format_argument(parser)


def run(args: argparse.Namespace) -> int:
    from dataset.core.errors import UserError
    from training.retrieval.embed import encode_images
    from training.retrieval.encoder_loading import load_encoder
    from training.retrieval.sources import first_label, read_manifest
    from training.retrieval.tsne import plot_tsne, tsne_2d
    from training.retrieval.uris import write_uri

    store, frame, where = read_manifest(args.dataset, args.store)
    if args.task not in frame.columns:
        raise UserError(f"{where}: no label column {args.task!r}")
    frame = frame[frame[args.task].map(lambda v: first_label(v) != "unknown")]
    if len(frame) > args.limit:
        frame = frame.sample(args.limit, random_state=args.seed)
    if len(frame) < 5:
        raise UserError(f"{where}: {len(frame)} labelled images, t-SNE needs at least 5")
    encoder = load_encoder(args.encoder)
    if args.task not in encoder.tasks:
        raise UserError(f"{args.encoder}: no task {args.task!r} (has {sorted(encoder.tasks)})")
    encodings, kept = encode_images(
        encoder, store, list(frame["image_path"]), batch_size=args.batch_size, desc="encoding"
    )
    labels = [first_label(v) for v in frame[args.task].iloc[kept]]
    points = tsne_2d(encodings[args.task], seed=args.seed)
    title = (
        f"t-SNE of {args.task} encodings ({len(labels)} images, encoder {encoder.encoder_id[:10]})"
    )
    write_uri(args.out, plot_tsne(points, labels, title))
    clikit.emit(
        {"out": args.out, "images": len(labels), "labels": sorted(set(labels))},
        args.format,
        f"wrote {args.out} ({len(labels)} images, {len(set(labels))} labels)",
    )
    return 0

"""Find near-duplicate images of a manifest and mark one image per cluster to keep.

Stage 1 hashes every image (pHash of the frame and of the object on its plain
backdrop, a Fourier-magnitude hash; cached by content in hashes.parquet) and finds the
nearest pairs within a Hamming radius by multi-index hashing; stage 2 confirms each pair
on aligned thumbnails and by geometric verification (ORB features, RANSAC similarity).
A photo joins a cluster only if confirmed against the photo the cluster keeps and every
member: clusters never chain. Writes OUT/manifest.parquet (with dup_cluster and
dup_keep), OUT/duplicates.parquet (the confirmed pairs, their scores and what each
did) and OUT/dedup_summary.json. Bad images
(missing, corrupt, truncated, not an image, decompression bombs) are counted and
listed, never fatal.

example:
  s2s-dataset dedup --store ./data --manifest datasets/demo/v1/mapped.parquet \\
      --out datasets/demo/v1 --radius 10 --format json
"""

from __future__ import annotations

import argparse

from dataset.core import clikit

NAME = "dedup"
HELP = "find near-duplicate images and keep one per cluster"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    clikit.add_store_argument(parser)
    parser.add_argument(
        "--manifest",
        required=True,
        metavar="KEY_OR_URI",
        help="manifest parquet: a key of --store, a local path or an s3:// URI",
    )
    parser.add_argument(
        "--out", required=True, metavar="PREFIX", help="dataset folder (a key of --store)"
    )
    parser.add_argument(
        "--hash",
        action="append",
        dest="hashes",
        metavar="KIND",
        help="hash kind, repeatable: phash dhash whash ahash fmhash, or KIND_object "
        "(default: phash, phash_object and fmhash)",
    )
    parser.add_argument(
        "--radius",
        type=int,
        help="Hamming radius of candidates in every hash kind (default 10, fmhash 12)",
    )
    parser.add_argument("--workers", type=int, help="processes (default: every core)")
    parser.add_argument(
        "--no-verify", action="store_true", help="trust the hashes alone (stage 1 only)"
    )
    clikit.add_format_argument(parser)


def run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from dataset.core.errors import UserError
    from dataset.core.stageio import read_manifest
    from dataset.core.store import open_store
    from dataset.dedup import DedupConfig, find_duplicates

    store = open_store(args.store)
    store.check()
    options = {
        key: value
        for key, value in {
            "hashes": args.hashes,
            "radius": args.radius,
            "kind_radius": {} if args.radius is not None else None,
            "workers": args.workers,
            "verify": False if args.no_verify else None,
        }.items()
        if value is not None
    }
    try:
        config = DedupConfig(**options)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise UserError(
            f"--{error['loc'][0]}: {error['msg']} (received {error.get('input')!r})"
        ) from None
    manifest = read_manifest(store, args.manifest)
    out = args.out.strip("/")
    frame, summary = find_duplicates(store, manifest, config, out=out, progress=True)
    store.write_parquet(f"{out}/manifest.parquet", frame)
    store.write_json(f"{out}/dedup_summary.json", {"config": config.model_dump(), **summary})
    text = (
        f"{summary['images']} images, {summary['candidate_pairs']} candidate pairs, "
        f"{summary['confirmed_pairs']} confirmed, {summary['clusters_with_duplicates']} "
        f"clusters, {summary['rows_removed']} rows to drop, "
        f"{summary['cross_source_pairs']} across sources, "
        f"{len(summary['bad_images'])} bad images -> {store.uri_for(out)}"
    )
    clikit.emit(summary, args.format, text)
    return 0

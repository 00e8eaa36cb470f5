"""Cut the garment out of every image of a manifest (GrabCut in a box), on white.

The box comes from the manifest's bbox column when it has one, else from the garment
localiser (--localiser, trained by `s2s-train fit-localiser`) or the plain studio
backdrop (the region that differs from the border colour), else a centred default;
it is enlarged by a margin and GrabCut runs inside it on a downscaled copy. A cut that
fails the quality check (mask area, centre) tries the next box, then keeps the
original image. Writes OUT/segmented/*.jpg (cut-outs on white) and *.png (1-bit
masks), OUT/segments.parquet (the cache: a rerun cuts only new images),
OUT/manifest.parquet (with segmented_path, mask_path, box, box_source and segmentation
status) and OUT/segment_summary.json.

example:
  s2s-dataset segment --store ./data --manifest datasets/demo/v1/manifest.parquet \\
      --out datasets/demo/v1 --localiser models/localiser/demo/localiser.keras
"""

from __future__ import annotations

import argparse

from dataset.core import clikit

NAME = "segment"
HELP = "cut garments out of their photos (GrabCut in a box, quality-checked)"


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
        "--localiser", metavar="KEY", help="garment localiser model (.keras), a key of --store"
    )
    parser.add_argument("--margin", type=float, help="box margin, fraction of its size (0.08)")
    parser.add_argument("--iterations", type=int, help="GrabCut iterations (3)")
    parser.add_argument("--workers", type=int, help="processes (default: every core)")
    clikit.add_format_argument(parser)


def run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from dataset.core.errors import UserError
    from dataset.core.stageio import read_manifest
    from dataset.core.store import open_store
    from dataset.segmentation import SegmentConfig, segment_images

    store = open_store(args.store)
    store.check()
    options = {
        key: value
        for key, value in {
            "localiser": args.localiser,
            "margin": args.margin,
            "iterations": args.iterations,
            "workers": args.workers,
        }.items()
        if value is not None
    }
    try:
        config = SegmentConfig(**options)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise UserError(
            f"--{error['loc'][0]}: {error['msg']} (received {error.get('input')!r})"
        ) from None
    manifest = read_manifest(store, args.manifest)
    out = args.out.strip("/")
    frame, summary = segment_images(store, manifest, config, out=out, progress=True)
    store.write_parquet(f"{out}/manifest.parquet", frame)
    store.write_json(f"{out}/segment_summary.json", {"config": config.model_dump(), **summary})
    text = (
        f"{summary['images']} images: {summary['segmented']} segmented, "
        f"{summary['fallback']} kept unsegmented, {summary['bad']} bad, "
        f"{summary['from_cache']} from cache -> {store.uri_for(out)}"
    )
    clikit.emit(summary, args.format, text)
    return 0

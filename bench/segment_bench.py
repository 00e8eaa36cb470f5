"""Garment segmentation: mask IoU against the generator's true masks, and images/s per core.

Photos come from the demo garment generator (:mod:`dataset.synthetic.garments`, the one
behind the demo marketplace and catalogue), which also gives each garment's true mask
(:func:`garment_mask`). Three kinds of photo: catalogue studio shots (front view, plain
backdrop), shoppers' photos on a plain wall or sheet, shoppers' photos in a cluttered room
(off-centre, tilted, colour cast, sometimes on a hanger). Each is cut with the project's
:func:`dataset.segmentation.cut.segment_array` (box from the backdrop or a centred default,
margin, GrabCut, quality check); a rejected cut falls back to the whole image, as the
stage does. Also with the true bounding box given as an annotation (what DeepFashion2-
like data provides). Baselines: the whole image as the mask, and the centred default box.

Throughput: :func:`dataset.segmentation.segment_images` end to end (read, decode, cut,
write the cut-out JPEG) with one process (per core) and two.

    PYTHONPATH=. python bench/segment_bench.py --quick   # 40 photos per kind
    PYTHONPATH=. python bench/segment_bench.py           # 200 photos per kind
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchkit import header, table  # noqa: E402

from dataset.core.store import open_store  # noqa: E402
from dataset.segmentation import SegmentConfig, segment_images  # noqa: E402
from dataset.segmentation.cut import segment_array  # noqa: E402
from dataset.synthetic import DemoUniverse  # noqa: E402
from dataset.synthetic.garments import (  # noqa: E402
    garment_mask,
    render,
    shopper_shot,
    studio_shot,
    to_jpeg,
)

KINDS = {
    "studio shot (catalogue front view)": "studio",
    "shopper's photo, plain wall/sheet": "plain",
    "shopper's photo, cluttered room": "cluttered",
}


def photos(kind: str, count: int, size: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``count`` (RGB photo, true mask) pairs of one kind."""
    designs = DemoUniverse(seed).catalogue_designs()
    rng = np.random.default_rng(seed)
    out = []
    for index in range(count):
        look = designs[index % len(designs)].look()
        if kind == "studio":
            shot = studio_shot(0, rng)
        else:
            shot = replace(shopper_shot(rng), background=kind)
        image = render(look, shot, size, rng)
        out.append((np.asarray(image), garment_mask(look, size, shot)))
    return out


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def centre_box(shape: tuple[int, ...], side: float) -> np.ndarray:
    height, width = shape[:2]
    dx, dy = round(width * (1 - side) / 2), round(height * (1 - side) / 2)
    mask = np.zeros((height, width), bool)
    mask[dy : height - dy, dx : width - dx] = True
    return mask


def true_box(mask: np.ndarray) -> list[float]:
    ys, xs = np.nonzero(mask)
    return [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)]


def quality(samples: list[tuple[np.ndarray, np.ndarray]], config: SegmentConfig) -> dict:
    scores: dict[str, list[float]] = {k: [] for k in ("whole", "centre", "used", "cut",
                                                      "annotated")}  # fmt: skip
    fallbacks = annotated_fallbacks = 0
    started = time.perf_counter()
    for rgb, truth in samples:
        mask, _box, _source, problem = segment_array(rgb, None, config)
        scores["cut"].append(iou(mask, truth))
        fallbacks += problem is not None
        scores["used"].append(iou(mask, truth) if problem is None else float(truth.mean()))
        scores["whole"].append(float(truth.mean()))  # IoU of the whole frame = mask share
        scores["centre"].append(iou(centre_box(rgb.shape, config.default_box), truth))
    cut_s = time.perf_counter() - started
    for rgb, truth in samples:
        mask, _box, _source, problem = segment_array(rgb, true_box(truth), config)
        annotated_fallbacks += problem is not None
        scores["annotated"].append(iou(mask, truth) if problem is None else float(truth.mean()))
    out = {k: float(np.mean(v)) for k, v in scores.items()}
    out["p10_used"] = float(np.percentile(scores["used"], 10))
    out["fallback"] = fallbacks / len(samples)
    out["annotated_fallback"] = annotated_fallbacks / len(samples)
    out["rate"] = len(samples) / cut_s
    return out


def end_to_end(samples: list[np.ndarray], workers: int) -> float:
    """Images/s of ``segment_images`` on a local store, ``workers`` processes."""
    with tempfile.TemporaryDirectory(prefix="segment-bench-") as root:
        store = open_store(root)
        keys = []
        for index, rgb in enumerate(samples):
            keys.append(f"img/{index:05d}.jpg")
            store.write_bytes(keys[-1], to_jpeg(_image(rgb), 90))
        config = SegmentConfig(workers=workers)
        started = time.perf_counter()
        frame, _summary = segment_images(
            store, pd.DataFrame({"image_path": keys}), config, out="datasets/bench"
        )
        took = time.perf_counter() - started
        assert frame["segmentation"].notna().all()
    return len(keys) / took


def _image(rgb: np.ndarray):  # type: ignore[no-untyped-def]
    from PIL import Image

    return Image.fromarray(rgb)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="40 photos per kind")
    parser.add_argument("--count", type=int, help="photos per kind (default 200)")
    parser.add_argument("--size", type=int, default=256, help="photo side in pixels")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    count = args.count or (40 if args.quick else 200)
    config = SegmentConfig()

    rows, everything = [], []
    for label, kind in KINDS.items():
        samples = photos(kind, count, args.size, args.seed)
        everything += [rgb for rgb, _ in samples]
        q = quality(samples, config)
        rows.append([
            label, f"{q['whole']:.3f}", f"{q['centre']:.3f}", f"**{q['used']:.3f}**",
            f"{q['p10_used']:.3f}", f"{q['fallback']:.0%}", f"{q['annotated']:.3f}",
            f"{q['rate']:.0f}",
        ])  # fmt: skip
    one = end_to_end(everything, 1)
    two = end_to_end(everything, 2)

    header(
        "Garment segmentation (issue 4)",
        f"{count} generated {args.size}x{args.size} photos per kind (demo garment generator, "
        f"true masks from `garment_mask`); default `SegmentConfig` (GrabCut on a "
        f"{config.work_size} px copy, {config.iterations} iterations, margin {config.margin})",
    )
    print("**Mask IoU against the true garment mask** (mean over photos; *project* = the cut, "
          "or the whole image when the quality check rejects it, as the stage does):\n")  # fmt: skip
    table(
        ["photos", "baseline: whole image", f"baseline: centred box ({config.default_box:.0%})",
         "project", "project p10", "fallbacks", "project + true box as annotation",
         "cuts/s (1 core)"],
        rows,
    )  # fmt: skip
    table(
        ["throughput (`segment_images`, read + decode + cut + JPEG write)", "images/s"],
        [
            ["1 process (per core)", f"{one:.0f}"],
            ["2 processes", f"{two:.0f} ({two / 2:.0f}/core)"],
        ],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

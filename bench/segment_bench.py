"""Garment segmentation on two sets of photos with true masks, and images/s per core.

Two evaluation sets, made differently:

- **demo generator** (tuned on): :mod:`dataset.synthetic.garments`, the generator behind
  the demo marketplace and catalogue: studio shots (catalogue front view), shoppers'
  photos on a plain wall or sheet, shoppers' photos in a cluttered room.
- **independent generator** (held out, never tuned on): ``bench/held_out_photos.py``,
  which shares no code with ``dataset/synthetic/``: other garment shapes and fabrics,
  garments hung on doors and wardrobes, held up by hands, laid flat on beds and floors,
  in front of shelves, tiles and wallpaper, camera tilt and light falloff.

The garment localiser is trained first with the demo's settings (``s2s-train
fit-localiser`` defaults) on the studio shots of a demo catalogue of another seed, with
that universe's marketplace photos as scene borders; ``--localiser DIR`` keeps it in DIR
and reuses it on the next run. Each photo is cut three ways: the **backdrop baseline**
(the stage without a localiser: backdrop box, else a centred default), the **project**
(the stage with the localiser) and the **true-box ceiling** (GrabCut in the true box,
given as an annotation). A rejected cut counts as the whole image, as the stage keeps
it. Throughput: :func:`dataset.segmentation.segment_images` end to end (read, decode,
localise, cut, write the cut-out and its mask), one process and two, with and without
the localiser.

    PYTHONPATH=. python bench/segment_bench.py --quick   # 40 photos per kind
    PYTHONPATH=. python bench/segment_bench.py           # 200 photos per kind
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchkit import header, table  # noqa: E402
from held_out_photos import POSES, held_out_photo  # noqa: E402

from dataset.core.store import Store, open_store  # noqa: E402
from dataset.segmentation import SegmentConfig, segment_images  # noqa: E402
from dataset.segmentation.cut import segment_array  # noqa: E402
from dataset.segmentation.localiser import Localiser  # noqa: E402
from dataset.synthetic import DemoUniverse  # noqa: E402
from dataset.synthetic.garments import (  # noqa: E402
    garment_mask,
    render,
    shopper_shot,
    studio_shot,
    to_jpeg,
)

Sample = tuple[np.ndarray, np.ndarray]
Cut = tuple[np.ndarray, str | None]  # mask, and why it was rejected (None: kept)
METHODS = ("project", "before", "baseline", "ceiling")
# The stage's settings before the localiser seeded every box, the certain background,
# the recut and the wider margin around the localiser's box (2026-12-04): "before".
BEFORE = {"localiser_margin": 0.08, "prior_background": 0.0, "prior_in_every_box": False,
          "recut_below": 0.0}  # fmt: skip
DEMO_KINDS = {
    "studio shot (catalogue front view)": "studio",
    "shopper's photo, plain wall/sheet": "plain",
    "shopper's photo, cluttered room": "cluttered",
}
HELD_OUT_KINDS = {
    "hung on a door or wardrobe": "hung",
    "held up by a hand": "held",
    "laid flat (bed, floor, tiles)": "flat",
}


def demo_photos(kind: str, count: int, size: int, seed: int) -> list[Sample]:
    """``count`` (RGB photo, true mask) pairs of one kind of the demo generator."""
    designs = DemoUniverse(seed).catalogue_designs()
    rng = np.random.default_rng(seed)
    out = []
    for index in range(count):
        look = designs[index % len(designs)].look()
        shot = (
            studio_shot(0, rng) if kind == "studio" else replace(shopper_shot(rng), background=kind)
        )
        out.append((np.asarray(render(look, shot, size, rng)), garment_mask(look, size, shot)))
    return out


def held_out(pose: str, count: int, size: int, seed: int) -> list[Sample]:
    """``count`` photos of one pose of the independent generator."""
    index = POSES.index(pose)
    return [held_out_photo(index + len(POSES) * i, size, seed) for i in range(count)]


def train_localiser(folder: Path, seed: int) -> tuple[Localiser, dict[str, Any]]:
    """The demo-settings localiser, trained on a demo universe of another seed (reused)."""
    from training.localiser.config import LocaliserConfig
    from training.localiser.fit import MODEL_FILE, fit_localiser

    inputs = open_store(folder / "inputs")
    universe = DemoUniverse(seed=seed, items_per_category=40)
    if not inputs.exists("done"):
        for design in universe.catalogue_designs():
            for view in range(5):
                data = universe.render_catalogue_view(design.design_id, view)
                inputs.write_bytes(f"catalogue/{design.design_id}-{view}.jpg", data)
        for listing in universe.all_listings()[:400]:
            inputs.write_bytes(f"raw/{listing.photo_ids[0]}.jpg",
                               universe.render_listing_photo(listing.photo_ids[0]))  # fmt: skip
        inputs.write_bytes("done", b"")
    model = open_store(folder / "model")
    summary = fit_localiser(
        LocaliserConfig(), open_store(folder / "inputs" / "catalogue"), model,
        scenes=open_store(folder / "inputs" / "raw"),
    )  # fmt: skip
    return Localiser.from_store(model, MODEL_FILE), summary


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def true_box(mask: np.ndarray) -> list[float]:
    ys, xs = np.nonzero(mask)
    return [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)]


def per_photo(
    samples: list[Sample], cut: Callable[[int, np.ndarray], Cut]
) -> list[tuple[float, bool]]:
    """IoU of the kept mask (the whole image when rejected) and whether it fell back."""
    out = []
    for index, (rgb, truth) in enumerate(samples):
        mask, problem = cut(index, rgb)
        out.append(
            (iou(mask, truth) if problem is None else float(truth.mean()), problem is not None)
        )
    return out


def scores(photos: list[tuple[float, bool]]) -> dict[str, float]:
    """Mean and p10 IoU, share under IoU 0.5 (fragments and kept background), fallbacks."""
    used = np.array([value for value, _fell_back in photos])
    return {"mean": float(used.mean()), "p10": float(np.percentile(used, 10)),
            "under": float(np.mean(used < 0.5)),
            "fallback": float(np.mean([fell_back for _value, fell_back in photos]))}  # fmt: skip


def quality(
    samples: list[Sample], localiser: Localiser, config: SegmentConfig, before: SegmentConfig
) -> dict:
    """Per method (project, before, baseline, ceiling) the per-photo results; the CPU
    seconds of the project and of the stage's previous settings (localise + cut each)."""
    # CPU seconds (all threads), not wall: the cores are shared with other jobs.
    started = time.process_time()
    located = localiser.locate([rgb for rgb, _ in samples])
    localise_s = time.process_time() - started

    def localised(settings: SegmentConfig) -> Callable[[int, np.ndarray], Cut]:
        def cut(i: int, rgb: np.ndarray) -> Cut:
            mask, _box, _source, problem = segment_array(rgb, None, settings, *located[i])
            return mask, problem

        return cut

    def baseline(_i: int, rgb: np.ndarray) -> Cut:
        mask, _box, _source, problem = segment_array(rgb, None, config)
        return mask, problem

    def ceiling(i: int, rgb: np.ndarray) -> Cut:
        mask, _box, _source, problem = segment_array(rgb, true_box(samples[i][1]), config)
        return mask, problem

    out: dict = {}
    for method, settings in (("project", config), ("before", before)):
        started = time.process_time()
        out[method] = per_photo(samples, localised(settings))
        out[f"{method}_cpu_s"] = localise_s + time.process_time() - started
    out["baseline"] = per_photo(samples, baseline)
    out["ceiling"] = per_photo(samples, ceiling)
    return out


def merged(results: list[dict]) -> dict:
    """The results of several kinds of photos as one set."""
    cpu_seconds = ("project_cpu_s", "before_cpu_s")
    return {**{method: [p for r in results for p in r[method]] for method in METHODS},
            **{key: sum(r[key] for r in results) for key in cpu_seconds}}  # fmt: skip


def _cpu_seconds() -> float:
    """CPU seconds of this process and of its children that have ended (the workers)."""
    import resource

    own, children = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                         resource.RUSAGE_CHILDREN))  # fmt: skip
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def end_to_end(
    samples: list[np.ndarray], workers: int, localiser: str | None, root: Store
) -> tuple[float, float]:
    """Images per wall second and per CPU second of ``segment_images`` on a local store,
    ``workers`` processes. On a shared machine the second is the per-core rate: the wall
    rate counts the seconds other jobs held the cores too."""
    from PIL import Image

    with tempfile.TemporaryDirectory(prefix="segment-bench-") as folder:
        store = open_store(folder)
        if localiser:
            store.write_bytes("models/localiser.keras", root.read_bytes(localiser))
        keys = []
        for index, rgb in enumerate(samples):
            keys.append(f"img/{index:05d}.jpg")
            store.write_bytes(keys[-1], to_jpeg(Image.fromarray(rgb), 90))
        config = SegmentConfig(
            workers=workers, localiser="models/localiser.keras" if localiser else None
        )
        started, cpu_started = time.perf_counter(), _cpu_seconds()
        frame, _summary = segment_images(
            store, pd.DataFrame({"image_path": keys}), config, out="ds"
        )
        took, cpu = time.perf_counter() - started, _cpu_seconds() - cpu_started
        assert frame["segmentation"].notna().all()
    return len(keys) / took, len(keys) / cpu


def _row(label: str, q: dict) -> list[str]:
    b, before, p, c = (scores(q[method]) for method in ("baseline", "before", "project", "ceiling"))
    rates = (len(q["project"]) / q[f"{method}_cpu_s"] for method in ("before", "project"))
    return [
        label, f"{b['mean']:.3f} / {b['p10']:.3f} / {b['fallback']:.0%}",
        f"{before['mean']:.3f} / {before['p10']:.3f} / {before['under']:.1%}",
        f"**{p['mean']:.3f}**", f"{p['p10']:.3f}", f"{p['under']:.1%}", f"{p['fallback']:.0%}",
        f"{c['mean']:.3f}", " / ".join(f"{rate:.0f}" for rate in rates),
    ]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="40 photos per kind")
    parser.add_argument("--count", type=int, help="photos per kind (default 200)")
    parser.add_argument("--size", type=int, default=256, help="photo side in pixels")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--localiser", type=Path, help="folder to keep (and reuse) the localiser in"
    )
    parser.add_argument(
        "--sets", choices=("both", "demo"), default="both",
        help="'demo': the demo generator alone (to tune on without seeing the held-out set)",
    )  # fmt: skip
    parser.add_argument(
        "--before", type=json.loads, default=BEFORE,
        help=f"SegmentConfig fields of the 'before' column, JSON (default: {json.dumps(BEFORE)})",
    )  # fmt: skip
    args = parser.parse_args()
    count = args.count or (40 if args.quick else 200)
    load_at_start = os.getloadavg()
    config = SegmentConfig()
    try:
        before = SegmentConfig(**args.before)
    except ValidationError as exc:
        parser.error(f"--before: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}")

    with tempfile.TemporaryDirectory(prefix="localiser-bench-") as scratch:
        folder = args.localiser or Path(scratch)
        localiser, trained = train_localiser(folder, args.seed + 1)
        sets = {"demo generator (tuned on)": {k: demo_photos(v, count, args.size, args.seed)
                                              for k, v in DEMO_KINDS.items()}}  # fmt: skip
        if args.sets == "both":
            sets["independent generator (held out)"] = {
                k: held_out(v, count, args.size, args.seed) for k, v in HELD_OUT_KINDS.items()
            }
        rows, everything = [], []
        for set_name, kinds in sets.items():
            shoppers = []
            for label, samples in kinds.items():
                result = quality(samples, localiser, config, before)
                rows.append(_row(f"{set_name}: {label}", result))
                if "studio" not in label:
                    shoppers.append(result)
            rows.append(_row(f"**{set_name}: all shoppers' photos**", merged(shoppers)))
            everything += [rgb for kind in kinds.values() for rgb, _ in kind[: count // 4]]
        model_store = open_store(folder / "model")
        rates = {
            (workers, with_localiser): end_to_end(
                everything, workers, "localiser.keras" if with_localiser else None, model_store
            )
            for with_localiser in (False, True)
            for workers in (1, 2)
        }

    header(
        "Garment segmentation with the localiser (issue 19)",
        f"{count} generated {args.size}x{args.size} photos per kind and set; default "
        f"`SegmentConfig` (GrabCut on a {config.work_size} px copy, {config.iterations} "
        f"iterations, margin {config.margin}, {config.localiser_margin} around the localiser's "
        f"box); localiser: `s2s-train fit-localiser` defaults "
        f"({trained['image_size']} px, {trained['parameters']:,} parameters, "
        f"{trained['cutouts'].get('cut', 0)} studio cut-outs of demo universe seed "
        f"{args.seed + 1}, {trained['config']['composites']} composites, "
        f"{trained['config']['epochs']} epochs)",
    )
    print("**Mask IoU against the true garment mask** (a rejected cut counts as the whole "
          "image, as the stage keeps it):\n")  # fmt: skip
    table(
        ["photos", "backdrop baseline: mean / p10 / fallbacks",
         "before (previous settings): mean / p10 / under 0.5", "project (localiser)",
         "project p10", "project under 0.5", "project fallbacks",
         "ceiling: GrabCut in the true box",
         "cuts per CPU second (localise + cut), before / project"],
        rows,
    )  # fmt: skip
    reused = " (reused)" if trained.get("reused") else ""
    table(
        ["localiser training (CPU)", "seconds"],
        [
            ["studio cut-outs + composites", f"{trained['seconds']['data']:.0f}{reused}"],
            ["`keras.Model.fit`", f"{trained['seconds']['fit']:.0f}{reused}"],
            ["CPU seconds of the whole run (all threads)",
             f"{trained['seconds'].get('cpu', float('nan')):.0f}{reused}"],
            ["validation (composites): mask IoU / box IoU",
             f"{trained['val']['mask_iou']:.3f} / {trained['val']['box_iou']:.3f}"],
        ],
    )  # fmt: skip

    def rate(workers: int, with_localiser: bool) -> str:
        wall, cpu = rates[workers, with_localiser]
        return f"{wall:.1f} / {cpu:.1f}"

    table(
        ["throughput (`segment_images`: read + decode + localise + cut + JPEG and PNG write), "
         "images per wall second / per CPU second", "without localiser", "with localiser"],
        [[f"{workers} process{'es' * (workers > 1)}", rate(workers, False), rate(workers, True)]
         for workers in (1, 2)],
    )  # fmt: skip
    loads = [", ".join(f"{v:.1f}" for v in load) for load in (load_at_start, os.getloadavg())]
    print(f"Load average (1, 5, 15 min): {loads[0]} at the start, {loads[1]} at the end.\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

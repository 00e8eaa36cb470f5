"""Training quality: what the encoders learn, shared vs separate backbones, and the
pair-trained embedding against the seed's concatenated task encodings on the same queries.

Builds two demo worlds the way ``make demo`` does (crawl of the demo marketplace and
storefront, house catalogue with shoppers' photos, localiser, dataset build): seed 0, the
world the demo recipe was tuned on, and seed 1, a held-out world (other designs, colours,
backgrounds) never tuned on, both at once. ``--cache DIR`` keeps them between runs. For
each variant (default ``shared``; ``separate``, one backbone per head, costs three times
as much) one ``s2s-train fit --retrieval`` on the seed-0 dataset with the demo's recipe
(its heads reading the colour statistics), longer and at a larger image size than the
demo, with the leftover augmentation (``bench/leftover.yaml``); then on the test split of
each world,
``evaluate`` gives per-task accuracy and macro-F1 at the calibrated thresholds (chosen on
the seed-0 val split, kept for the held-out world) and type accuracy on shop and user
photos apart, and ``eval-retrieval`` gives top-1/10
of the test split's street-to-shop queries for ``--embedding attributes`` (the seed's
baseline) and ``--embedding retrieval`` (the pair-trained head), each beside chance.
Prints one markdown section.

  python bench/train_quality.py [--cache DIR] [--quick]
      [--image-size 80] [--epochs 24] [--variants shared[,separate]]
      [--colour-statistics colour,retrieval] [--config YAML]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.benchkit import header, table  # noqa: E402

VARIANTS = {"shared": [], "separate": ["--separate"]}
DEFAULT_CONFIG = ROOT / "bench" / "leftover.yaml"
# The categories scripts/demo.sh crawls on the demo marketplace and on the storefront.
CATEGORIES = (
    "robes", "jeans", "pulls-et-sweats", "t-shirts", "manteaux-et-vestes", "pantalons",
    "jupes", "costumes-et-ensembles", "chemises", "shorts", "doudounes", "cardigans",
    "blouses", "polos", "leggings",
)  # fmt: skip
SHOP_CATEGORIES = ("dresses", "jeans", "t-shirts")
TASKS = ("type", "colour", "material", "gender")


def run(*argv: str) -> None:
    """A project command in a child process; its output is kept out of the section."""
    done = subprocess.run([sys.executable, *argv], capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise SystemExit(f"{' '.join(argv)}: exit {done.returncode}\n" + "\n".join(tail))


def demo_site(flavour: str, seed: int, items: int, ready: Path) -> subprocess.Popen[bytes]:
    site = subprocess.Popen(
        [sys.executable, "-m", "crawler", "demo-site", "--flavour", flavour, "--port", "0",
         "--image-port", "0", "--seed", str(seed), "--items-per-category", str(items),
         "--ready-file", str(ready)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(300):
        if ready.is_file() and ready.stat().st_size:
            return site
        if site.poll() is not None:
            raise SystemExit(f"demo {flavour} site (seed {seed}) exited {site.returncode}")
        time.sleep(0.1)
    site.kill()
    raise SystemExit(f"demo {flavour} site (seed {seed}) not ready after 30 s")


def build_world(store: Path, seed: int, items: int) -> Path:
    """The demo dataset of the world ``seed`` under ``store``, built as ``make demo``
    builds it; reused when a previous build of the same settings finished."""
    dataset = store / "datasets/demo/v1"
    stamp = store / "train-quality-world.json"
    settings = {"seed": seed, "items_per_category": items}
    if stamp.is_file() and json.loads(stamp.read_text()) == settings:
        return dataset
    store.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="train-quality-site-") as tmp:
        # The storefront sells another seed's garments, as in the demo (no duplicates).
        market = demo_site("marketplace", seed, items, Path(tmp) / "site.json")
        shop = demo_site("storefront", seed + 1, max(1, items // 5), Path(tmp) / "shop.json")
        try:
            urls = json.loads((Path(tmp) / "site.json").read_text())
            shop_urls = json.loads((Path(tmp) / "shop.json").read_text())
            run("-m", "crawler", "run", "--site", "demo", "--store", str(store), "--rate", "15",
                "--base-url", urls["base_url"], "--image-base-url", urls["image_base_url"],
                *[f"--category={c}" for c in CATEGORIES])  # fmt: skip
            run("-m", "crawler", "run", "--site", "storefront", "--store", str(store),
                "--rate", "15", "--base-url", shop_urls["base_url"],
                "--image-base-url", shop_urls["image_base_url"],
                *[f"--category={c}" for c in SHOP_CATEGORIES])  # fmt: skip
        finally:
            for site in (market, shop):
                site.terminate()
                site.wait()
    run("-m", "dataset", "demo-catalogue", "--store", str(store), "--seed", str(seed),
        "--items-per-category", str(items))  # fmt: skip
    run("-m", "training", "fit-localiser", "--cutouts", str(store / "catalogue/demo/images"),
        "--scenes", str(store / "raw/demo/images/full"),
        "--out", str(store / "models/localiser/demo"))  # fmt: skip
    run("-m", "dataset", "build", "--config", "dataset/configs/demo.yaml", "--store", str(store))
    stamp.write_text(json.dumps(settings))
    return dataset


def s2s_train(*argv: str) -> dict[str, Any]:
    """``s2s-train ARGV --format json`` in this process; its JSON document."""
    from training.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([*argv, "--format", "json"])
    if code != 0:
        raise SystemExit(f"s2s-train {' '.join(argv)}: exit {code}")
    return dict(json.loads(out.getvalue()))


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def task_cells(report: dict[str, Any]) -> str:
    """Accuracy (top-1 for multi-label heads) and calibrated macro-F1, chance beside."""
    odds = report["chance"]
    headline = "top1_accuracy" if "top1_accuracy" in report else "accuracy"
    f1 = report.get("macro_f1_calibrated", report["macro_f1"])
    return (f"{_fmt(report[headline])} ({_fmt(odds.get(headline))}) / "
            f"{_fmt(f1)} ({_fmt(odds.get('macro_f1'))})")  # fmt: skip


def type_by_domain(model: str, dataset: Path) -> str:
    """Type accuracy of the test split's shop photos / user photos (the shards' images,
    matched to the manifest's ``domain`` by image path)."""
    import numpy as np
    import pandas as pd

    from training.data import make_dataset, stage_dataset
    from training.encoder_io import load_encoder

    encoder = load_encoder(model)
    info = stage_dataset(str(dataset))
    tasks = {"type": info.tasks["type"]}
    domains = pd.read_parquet(dataset / "manifest.parquet").set_index("image_path")["domain"]
    hits: dict[str, list[bool]] = {"shop": [], "user": []}
    batches = make_dataset(info, "test", tasks, 64, encoder.image_size, with_paths=True)
    for images, labels, paths in batches:
        predicted = np.argmax(encoder.model(images, training=False)["type_probs"], axis=1)
        truth = np.argmax(labels["type_probs"], axis=1)
        for path, hit in zip(paths.numpy(), predicted == truth, strict=True):
            hits[domains[path.decode()]].append(bool(hit))
    return " / ".join(f"{np.mean(hits[d]):.3f} ({len(hits[d])})" for d in ("shop", "user"))


def measure(
    model: str, dataset: Path, label: str, variant: str
) -> tuple[list[object], list[object]]:
    """Test-split attribute figures, and top-1/10 of both search vectors on the same queries."""
    tasks = s2s_train("evaluate", "--model", model, "--dataset", str(dataset))["tasks"]
    attributes: list[object] = [label, variant, *(task_cells(tasks[t]) for t in TASKS)]
    attributes.append(type_by_domain(model, dataset))
    retrieval: list[object] = [label, variant]
    for embedding in ("attributes", "retrieval"):
        report = s2s_train("eval-retrieval", "--encoder", model, "--pairs", str(dataset),
                           "--split", "test", "--top-k", "1,10",
                           "--embedding", embedding)  # fmt: skip
        if embedding == "attributes":
            retrieval.append(report["evaluated"])
        retrieval.append(f"{_pct(report['top_k']['1'])} / {_pct(report['top_k']['10'])}")
    chance = report["chance_top_k"]
    retrieval.append(f"{_pct(chance['1'])} / {_pct(chance['10'])}")
    return attributes, retrieval


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", help="where the two demo worlds are built and reused "
                        "(default: a temporary folder)")  # fmt: skip
    parser.add_argument("--quick", action="store_true",
                        help="fewer listings, 64 px, 4 epochs")  # fmt: skip
    parser.add_argument("--items-per-category", type=int, default=40)
    parser.add_argument("--backbone", default="small")
    parser.add_argument("--image-size", type=int, default=80)
    parser.add_argument("--epochs", type=int, default=24)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    # --separate triples the fit: with it the default run would take about 50 minutes.
    parser.add_argument("--variants", default="shared")
    parser.add_argument("--colour-statistics", default="colour,retrieval", metavar="HEADS",
                        help="the heads that read the image's colour statistics, under every "
                        "variant (default: the demo's; '' for none)")  # fmt: skip
    parser.add_argument("--config", metavar="YAML", default=str(DEFAULT_CONFIG),
                        help="a training config file under every variant's flags (default: "
                        "bench/leftover.yaml, the leftover augmentation; '' for none)")  # fmt: skip
    args = parser.parse_args()
    if args.quick:
        args.items_per_category, args.image_size, args.epochs = 12, 64, 4
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise SystemExit(f"--variants: use {sorted(VARIANTS)}. Received: {unknown}")
    cache = Path(args.cache or tempfile.mkdtemp(prefix="train-quality-"))
    begun = started = time.perf_counter()
    # The two worlds at once: a crawl spends most of its time waiting on its rate limit.
    with ThreadPoolExecutor(2) as pool:
        tuned, held_out = pool.map(
            # One folder per size: a --quick world never lands on a full one's crawl.
            lambda seed: build_world(
                cache / f"seed{seed}-{args.items_per_category}", seed, args.items_per_category
            ),
            (0, 1),
        )
    seconds = {"datasets": time.perf_counter() - started}
    attribute_rows: list[list[object]] = []
    retrieval_rows: list[list[object]] = []
    for variant in variants:
        recipe = variant + (f"+{Path(args.config).stem}" if args.config else "")
        model = str(cache / "models" / recipe)
        started = time.perf_counter()
        s2s_train("fit", "--dataset", str(tuned), "--out", model, "--overwrite",
                  "--backbone", args.backbone, "--weights", "none",
                  "--image-size", str(args.image_size), "--epochs", str(args.epochs),
                  "--batch-size", str(args.batch_size),
                  "--learning-rate", str(args.learning_rate), "--retrieval",
                  *(["--colour-statistics", args.colour_statistics] if args.colour_statistics else []),
                  *VARIANTS[variant], *(["--config", args.config] if args.config else []))  # fmt: skip
        seconds[f"fit {recipe}"] = time.perf_counter() - started
        # fit records the thresholds it chose on the tuned world's val split: the
        # held-out world is read with those, never with its own.
        for world, label in ((tuned, "seed 0 (tuned on)"), (held_out, "seed 1 (held out)")):
            attributes, retrieval = measure(model, world, label, recipe)
            attribute_rows.append(attributes)
            retrieval_rows.append(retrieval)
    seconds["whole run"] = time.perf_counter() - begun
    load = os.getloadavg()
    used = os.times()  # this process and the commands it ran: the cores are often shared
    cpu = used.user + used.system + used.children_user + used.children_system
    header(
        "Training quality: shared vs separate, pair-trained embedding vs task encodings",
        f"{args.backbone} backbone, {args.image_size} px, {args.epochs} epochs, batch "
        f"{args.batch_size}, learning rate {args.learning_rate}, colour statistics read by "
        f"{args.colour_statistics or 'no head'}, "
        f"{args.items_per_category} listings per category; seconds: "
        + ", ".join(f"{k} {s:.0f}" for k, s in seconds.items())
        + f"; CPU seconds in all {cpu:.0f}; load average at the end "
        f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f}",
    )
    print("Test split of each world. Per task: accuracy (top-1 for the multi-label heads) / "
          "macro-F1 at the calibrated thresholds, chance in brackets.\n")  # fmt: skip
    table(["world", "backbone", *TASKS, "type: shop / user photos"], attribute_rows, "llrrrrr")
    print("Street-to-shop: the test split's user photos with a true catalogue match against "
          "the catalogue; top-1 / top-10 of each search vector on the same queries.\n")  # fmt: skip
    table(
        ["world", "backbone", "queries", "task encodings (seed)", "pair-trained", "chance"],
        retrieval_rows,
        "llrrrr",
    )


if __name__ == "__main__":
    main()

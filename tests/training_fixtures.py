"""A small demo-like dataset (images, manifest, shards, label weights) for training tests.

Garments are drawn shapes on a light background: the shape gives the type (single
label), the fill colour the colour (multi-label: some garments have a second colour
band). Both are learnable by the tiny backbone in a few epochs. Shards are written by
the dataset part's own exporter (dataset/shards/export.py), so the tests read exactly what
``s2s-dataset build`` writes.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageDraw

from dataset.core.store import open_store
from dataset.shards.export import ExportConfig, export_shards
from dataset.shards.tfrecord import PythonRecordWriter
from dataset.split.weights import label_weights
from dataset.taxonomy.tasks import TaskSpec
from training.cli import main

COLOURS = {"red": (210, 40, 40), "green": (40, 170, 60), "blue": (40, 60, 210)}
TYPES = ["dresses", "jeans", "shirts"]
SPECS = {
    "colour": TaskSpec("colour", "multi_label", list(COLOURS)),
    "type": TaskSpec("type", "single_label", TYPES),
}


def garment(kind: str, colours: list[str], rng: np.random.Generator, size: int = 48) -> bytes:
    image = Image.new("RGB", (size, size), tuple(int(v) for v in rng.integers(225, 250, 3)))
    draw = ImageDraw.Draw(image)
    fill = COLOURS[colours[0]]
    jitter = int(rng.integers(-4, 5))
    if kind == "dresses":  # a triangle
        draw.polygon([(size // 2 + jitter, 6), (8, size - 6), (size - 8, size - 6)], fill=fill)
    elif kind == "jeans":  # two tall legs
        draw.rectangle((10 + jitter, 6, 21 + jitter, size - 6), fill=fill)
        draw.rectangle((27 + jitter, 6, 38 + jitter, size - 6), fill=fill)
    else:  # a wide short block
        draw.rectangle((6, 14 + jitter, size - 6, 32 + jitter), fill=fill)
    if len(colours) > 1:
        draw.rectangle((size // 2 - 4, 4, size // 2 + 4, size - 4), fill=COLOURS[colours[1]])
    noise = rng.integers(-12, 13, (size, size, 3))
    pixels = np.clip(np.asarray(image, dtype=np.int16) + noise, 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG", quality=90)
    return out.getvalue()


def write_training_dataset(
    root: str | Path,
    per_cell: int = 8,
    image_size: int = 32,
    splits: dict[str, float] | None = None,
    seed: int = 0,
    shard_size: int = 40,
) -> str:
    """Write ``<root>/datasets/toy/v1`` and its images; returns the dataset URI.

    ``per_cell`` images for each (type, colour) pair; rows are split at random by
    ``splits`` (default 60/20/20); train rows of ``jeans`` get ``repeat`` 2.
    """
    splits = splits or {"train": 0.6, "val": 0.2, "test": 0.2}
    rng = np.random.default_rng(seed)
    store = open_store(str(root))
    rows: list[dict[str, Any]] = []
    for kind in TYPES:
        for colour in COLOURS:
            for i in range(per_cell):
                colours = [colour]
                if i % 4 == 3:
                    colours.append(next(c for c in COLOURS if c != colour))
                product = f"{kind}-{colour}-{i}"
                for domain in ("shop", "user"):
                    path = f"images/{domain}/{product}.jpg"
                    store.write_bytes(path, garment(kind, colours, rng))
                    rows.append(
                        {
                            "image_path": path,
                            "source": "catalogue" if domain == "shop" else "marketplace",
                            "domain": domain,
                            "product_id": product if domain == "shop" else None,
                            "item_id": product if domain == "user" else None,
                            "pair_id": product,
                            "colour": colours,
                            "type": [kind],
                        }
                    )
    frame = pd.DataFrame(rows)
    names, weights = list(splits), np.array(list(splits.values()), dtype=float)
    by_product = {p: rng.choice(names, p=weights / weights.sum()) for p in frame["pair_id"]}
    frame["split"] = frame["pair_id"].map(by_product)  # no product on both sides of a split
    frame["repeat"] = np.where(
        (frame["split"] == "train") & (frame["type"].str[0] == "jeans"), 2, 1
    )
    prefix = "datasets/toy/v1"
    config = ExportConfig(image_size=image_size, shard_size=shard_size, workers=2, writer="python")
    exported, _ = export_shards(store, frame, SPECS, prefix, config)
    document, _ = label_weights(exported, SPECS)
    store.write_json(f"{prefix}/label_weights.json", document)
    store.write_parquet(f"{prefix}/manifest.parquet", exported)
    return f"{str(root).rstrip('/')}/{prefix}"


def add_bad_shard(dataset: Path) -> None:
    """One undecodable image and a damaged frame appended to a train shard."""
    good = (
        dataset
        / "shards"
        / json.loads((dataset / "shards/index.json").read_text())["splits"]["train"]["files"][0]
    )
    bad = dataset / "shards/train-bad.tfrecord"
    with PythonRecordWriter(bad) as writer:
        writer.write({"image": [b"\xff\xd8 not a jpeg"], "image_path": [b"x.jpg"], "repeat": [1],
                      "label/colour": [1.0, 0.0, 0.0], "label/type": [1.0, 0.0, 0.0],
                      "pair_id": [b""], "domain": [b"user"]})  # fmt: skip
    with good.open("ab") as handle:
        handle.write(b"\x10\x00\x00\x00\x00\x00\x00\x00garbage!")
    index = json.loads((dataset / "shards/index.json").read_text())
    index["splits"]["train"]["files"].append(bad.name)
    index["splits"]["train"]["records"] += 2
    (dataset / "shards/index.json").write_text(json.dumps(index))


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run `s2s-train ARGV` in-process: (exit code, stdout, stderr)."""
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err

"""A tiny demo-world dataset whose build makes every decision the report shows.

The demo world (listings + catalogue) gives segmentation successes and fallbacks; on top
of it, a second crawl batch relists photos (one byte-identical, one re-encoded and
shifted: near-duplicates) and brings two unreadable photos (bad inputs).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import yaml
from PIL import Image

from dataset.build.run import build
from dataset.core.store import Store, open_store
from tests.buildds_fixtures import write_demo_world

PREFIX = "datasets/demo/v1"
BAD_PHOTOS = {
    "raw/demo/images/full/broken-half.jpg": "truncated",
    "raw/demo/images/full/notes.jpg": "text",
}


def _shifted(data: bytes) -> bytes:
    image = Image.open(io.BytesIO(data)).convert("RGB")
    moved = Image.new("RGB", image.size, image.getpixel((0, 0)))
    moved.paste(image, (1, 0))
    out = io.BytesIO()
    moved.save(out, format="JPEG", quality=85)
    return out.getvalue()


def _relists(store: Store) -> None:
    """A second batch in the first category: two relists and two unreadable photos."""
    batch = sorted(k for k in store.list("raw/demo/") if k.endswith("r1-00001.jsonl"))[0]
    records = [json.loads(line) for line in store.read_text(batch).splitlines() if line]
    lines = []
    for n, kind in enumerate(["copy", "shifted", "truncated", "text"]):
        base = records[n % len(records)]
        original = base["images"][0]["path"]
        data = store.read_bytes(original)
        path = f"raw/demo/images/full/relist-{n}.jpg"
        if kind == "copy":
            store.write_bytes(path, data)
        elif kind == "shifted":
            store.write_bytes(path, _shifted(data))
        else:
            path = next(p for p, k in BAD_PHOTOS.items() if k == kind)
            store.write_bytes(
                path, data[: len(data) // 3] if kind == "truncated" else b"not a photo\n"
            )
        image = {"url": f"http://127.0.0.1:9/photos/relist-{n}.jpg", "path": path, "checksum": path}
        record = {**base, "item_id": f"relist-{n}", "image_urls": [image["url"]], "images": [image]}
        lines.append(json.dumps(record, ensure_ascii=False) + "\n")
    store.write_text(batch.replace("r1-00001", "r2-00001"), "".join(lines))


def build_review_dataset(folder: Path, report: dict[str, Any] | None = None) -> Store:
    """Build the tiny dataset in ``folder / 'store'`` (default stages) and return its store."""
    store = open_store(folder / "store")
    write_demo_world(store, items_per_category=2, size=64)
    _relists(store)
    config = folder / "dataset.yaml"
    sections = {
        "name": "demo",
        "version": "v1",
        "dedup": {"workers": 1},
        "segment": {"workers": 1},
        "export": {"image_size": 32, "shard_size": 64, "writer": "python"},
        "report": {"samples_per_class": 2, "thumbnail_size": 48, **(report or {})},
    }
    config.write_text(yaml.safe_dump(sections), encoding="utf-8")
    build(config, store.uri, show_progress=False)
    return store

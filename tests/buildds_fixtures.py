"""A small labelled manifest with real images (and bad inputs) in a store, for build tests."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from PIL import Image, ImageDraw

from dataset.core.store import Store

TAXONOMY = {
    "version": 1,
    "tasks": {
        "colour": {"kind": "multi_label", "classes": ["red", "blue", "green", "purple"]},
        "type": {"kind": "single_label", "classes": ["dresses", "jeans", "polos", "skirts"]},
    },
}
RGB = {"red": (200, 40, 40), "blue": (40, 60, 200), "green": (40, 160, 60)}
# (type, images): dresses dominate, polos are the minority, skirts are empty.
PLAN = [("dresses", 24), ("jeans", 10), ("polos", 4)]
BAD = {
    "raw/demo/images/corrupt.jpg": b"\xff\xd8\xff\xe0 this is not really a jpeg",
    "raw/demo/images/notes.txt": b"just some text, not an image\n",
}


def jpeg(colour: tuple[int, int, int], shape: int, size: tuple[int, int] = (64, 48)) -> bytes:
    image = Image.new("RGB", size, (245, 245, 245))
    draw = ImageDraw.Draw(image)
    draw.rectangle((8 + shape % 7, 6, 40 + shape % 13, 40), fill=colour)
    draw.ellipse((30, 10 + shape % 5, 56, 30), fill=(shape * 37 % 255, 90, 120))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def bad_images() -> dict[str, bytes]:
    good = jpeg(RGB["red"], 1)
    bomb = io.BytesIO()
    Image.new("1", (3000, 3000)).save(bomb, format="PNG")  # 9 Mpx, a few KB
    return {
        **BAD,
        "raw/demo/images/truncated.jpg": good[: len(good) // 2],
        "raw/demo/images/bomb.png": bomb.getvalue(),
    }


def write_demo_manifest(store: Store, key: str = "inputs/manifest.parquet") -> pd.DataFrame:
    """Write images and a manifest (with duplicates, pairs and bad rows) to ``store``."""
    rows: list[dict[str, Any]] = []
    colours = list(RGB)
    number = 0
    for kind, count in PLAN:
        for i in range(count):
            colour = colours[(number + i) % 3]
            path = f"raw/demo/images/{kind}-{i:03d}.jpg"
            store.write_bytes(path, jpeg(RGB[colour], number))
            source = "catalogue" if i % 5 == 4 else "marketplace"
            rows.append(
                {
                    "image_path": path,
                    "source": source,
                    "domain": "shop" if source == "catalogue" else "user",
                    "site": "demo",
                    "item_id": f"{kind}-{i // 2}" if source == "marketplace" else None,
                    "product_id": f"p-{kind}-{i}" if source == "catalogue" else None,
                    "colour": [colour] + (["blue"] if i % 4 == 0 and colour != "blue" else []),
                    "type": [kind],
                    "dup_cluster": number - (1 if i % 6 == 5 else 0),
                    "dup_keep": i % 6 != 5,
                    "pair_id": f"d-{kind}-{i // 3}" if i % 3 == 0 else None,
                }
            )
            number += 1
    for path, data in bad_images().items():
        store.write_bytes(path, data)
    for path in [*bad_images(), "raw/demo/images/gone.jpg", None]:
        rows.append({**rows[0], "image_path": path, "dup_cluster": number, "dup_keep": True})
        number += 1
    frame = pd.DataFrame(rows)
    store.write_parquet(key, frame)
    return frame


def write_config(folder: Path, **sections: Any) -> Path:
    """A build config (and its taxonomy) in ``folder``; ``sections`` override defaults."""
    (folder / "taxonomy.yaml").write_text(yaml.safe_dump(TAXONOMY), encoding="utf-8")
    config: dict[str, Any] = {
        "name": "test",
        "version": "v1",
        "taxonomy": "taxonomy.yaml",
        "stages": ["load", "check", "split", "rebalance", "weights", "export", "report"],
        "load": {"manifest": "inputs/manifest.parquet"},
        "check": {"max_pixels": 1_000_000, "workers": 2},
        "split": {"fractions": {"train": 0.6, "val": 0.2, "test": 0.2}, "seed": 1},
        "export": {"image_size": 32, "shard_size": 8, "workers": 2, "writer": "python"},
        "report": {"samples_per_class": 3, "thumbnail_size": 48},
    }
    for name, value in sections.items():
        config[name] = value
    path = folder / "dataset.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def write_demo_world(store: Store, items_per_category: int = 3, size: int = 64) -> int:
    """Raw demo-marketplace listings (as a crawl writes them, photos rendered) and the
    demo catalogue export in ``store``; returns the number of listing photos written."""
    import json

    from dataset.catalogue.demo import DemoCatalogueConfig, build_demo_catalogue
    from dataset.synthetic import DemoUniverse

    universe = DemoUniverse(seed=0, items_per_category=items_per_category)
    photos = 0
    for slug in universe.categories:
        lines = []
        for item in universe.listings(slug):
            if item.deleted:
                continue
            images = []
            for photo_id in item.photo_ids:
                path = f"raw/demo/images/full/{photo_id}.jpg"
                store.write_bytes(path, universe.render_listing_photo(photo_id, size=size))
                images.append({"url": f"http://127.0.0.1:9/photos/{photo_id}.jpg", "path": path})
                photos += 1
            record = {
                "site": "demo",
                "item_id": item.item_id,
                "url": f"http://127.0.0.1:8/articles/{item.item_id}",
                "category": slug,
                "image_urls": [image["url"] for image in images],
                "images": [{**image, "checksum": image["path"]} for image in images],
                "fetched_at": "2026-11-20T10:00:00Z",
                "crawler_version": "0.1.0",
                "title": item.title,
                "brand": item.brand,
                "colors": item.colors,
                "materials": item.materials,
                "gender": item.gender,
                "size": item.size,
                "condition": item.condition,
                "price": {"amount": item.price_amount, "currency": item.currency},
            }
            lines.append(json.dumps(record, ensure_ascii=False) + "\n")
        store.write_text(f"raw/demo/{slug}/items/r1-00001.jsonl", "".join(lines))
    # No customers' photos: the build tests count the listings' photos (merge tests cover them)
    config = DemoCatalogueConfig(
        items_per_category=items_per_category, image_size=size, shopper_photos=0
    )
    build_demo_catalogue(store, config)
    return photos

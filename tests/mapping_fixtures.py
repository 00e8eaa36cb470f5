"""Hand-written listing records (docs/architecture.md format) for the mapping tests."""

from __future__ import annotations

import json
from typing import Any

from dataset.core.store import Store


def listing(
    item_id: str,
    category: str = "robes",
    *,
    colors: list[str] | None = None,
    materials: list[str] | None = None,
    gender: str | None = "Femmes",
    photos: int = 1,
    fetched_at: str = "2026-11-20T10:00:00Z",
    site: str = "demo",
    **extra: Any,
) -> dict[str, Any]:
    """One listing record as the crawler writes it."""
    images = [
        {
            "url": f"http://127.0.0.1:9/photos/{item_id}-{n}.jpg",
            "path": f"raw/{site}/images/full/{item_id}-{n}.jpg",
            "checksum": f"{item_id}{n}",
        }
        for n in range(photos)
    ]
    record: dict[str, Any] = {
        "site": site,
        "item_id": item_id,
        "url": f"http://127.0.0.1:8/articles/{item_id}-article",
        "category": category,
        "image_urls": [image["url"] for image in images],
        "images": images,
        "fetched_at": fetched_at,
        "crawler_version": "0.1.0",
        "title": f"Article {item_id}",
        "brand": "Zara",
        "colors": colors if colors is not None else ["Noir"],
        "materials": materials if materials is not None else ["100% coton"],
        "gender": gender,
        "size": "M",
        "condition": "Très bon état",
        "price": {"amount": "12.50", "currency": "EUR"},
    }
    record.update(extra)
    return record


def write_items(store: Store, records: list[dict[str, Any]], key: str, extra: str = "") -> str:
    """Write records as one JSONL batch (plus raw ``extra`` lines) under ``key``."""
    text = "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
    store.write_text(key, text + extra)
    return key


def universe_records(universe: Any, site: str = "demo") -> dict[str, list[dict[str, Any]]]:
    """The demo marketplace's live listings as crawler records, per category slug.

    Stands in for a crawl of the demo site: same raw labels, photo paths not rendered.
    """
    out: dict[str, list[dict[str, Any]]] = {}
    for slug in universe.categories:
        out[slug] = [
            {
                **listing(
                    item.item_id,
                    slug,
                    colors=item.colors,
                    materials=item.materials,
                    gender=item.gender,
                    photos=len(item.photo_ids),
                    site=site,
                ),
                "colors": item.colors,
                "materials": item.materials,
                "brand": item.brand,
                "price": {"amount": item.price_amount, "currency": item.currency},
            }
            for item in universe.listings(slug)
            if not item.deleted
        ]
    return out

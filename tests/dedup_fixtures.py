"""Generated near-duplicate sets written into a store, with a manifest, for the dedup tests."""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
from PIL import Image

from dataset.core.store import Store
from dataset.synthetic.near_duplicates import NearDuplicateSet, make_near_duplicate_set


@dataclass
class StoredSet:
    bench: NearDuplicateSet
    manifest: pd.DataFrame
    key_of: dict[str, str]  # image name -> store key
    name_of: dict[str, str]  # store key -> image name


def store_near_duplicates(
    store: Store, prefix: str = "raw/demo/images", **options: object
) -> StoredSet:
    bench = make_near_duplicate_set(**options)  # type: ignore[arg-type]
    key_of = {name: f"{prefix}/{name}.jpg" for name in bench.images}
    for name, data in bench.images.items():
        store.write_bytes(key_of[name], data)
    manifest = pd.DataFrame(
        {
            "image_path": list(key_of.values()),
            "source": "marketplace",
            "domain": "user",
            "fetched_at": pd.Timestamp("2026-01-01", tz="UTC"),
        }
    )
    return StoredSet(bench, manifest, key_of, {v: k for k, v in key_of.items()})


def pair_metrics(stored: StoredSet, found: set[tuple[str, str]]) -> dict[str, float]:
    """Recall per edit kind and overall, and precision, of pairs of image names."""
    truth = stored.bench.true_pairs()
    metrics: dict[str, float] = {}
    kinds: dict[str, list[bool]] = {}
    for pair in truth:
        kinds.setdefault(stored.bench.pair_kind(*pair), []).append(pair in found)
    for kind, hits in kinds.items():
        metrics[f"recall_{kind}"] = float(np.mean(hits))
    metrics["recall"] = len(found & truth) / len(truth)
    metrics["precision"] = len(found & truth) / max(len(found), 1)
    return metrics


def jpeg_bytes(
    size: tuple[int, int] = (32, 32), colour: tuple[int, int, int] = (200, 30, 30)
) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="JPEG")
    return buffer.getvalue()


def png_bomb(width: int, height: int) -> bytes:
    """A valid PNG header announcing ``width`` x ``height`` pixels, with a tiny body."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def bad_images() -> dict[str, bytes]:
    """One of each kind of bad input a crawl can leave behind (missing paths aside)."""
    good = jpeg_bytes((64, 64))
    return {
        "corrupt": b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4,
        "truncated": good[: len(good) // 2],
        "not-an-image": b"<html><body>404 not found</body></html>",
        "empty": b"",
        "bomb": png_bomb(30_000, 30_000),
    }

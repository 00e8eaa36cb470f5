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


def phash_chain_pngs(flips: int = 3, seed: int = 0) -> list[bytes]:
    """Three PNGs A, B, C whose pHashes form a chain: A~B and B~C ``2 * flips`` bits apart,
    A and C ``4 * flips`` (each drawn as the DCT pattern that pHash reads back exactly)."""
    import cv2

    rng = np.random.default_rng(seed)
    # 31 positive and 32 negative coefficients beside the DC term: the median is 0 and
    # each hash bit is the sign of one coefficient. Flipping a +/- pair keeps it so.
    signs = np.array([1.0] * 31 + [-1.0] * 32)
    rng.shuffle(signs)
    positive, negative = np.flatnonzero(signs > 0), np.flatnonzero(signs < 0)
    chain = [signs.copy()]
    for step in range(2):
        pattern = chain[-1].copy()
        flip = slice(step * flips, (step + 1) * flips)
        pattern[positive[flip]] *= -1
        pattern[negative[flip]] *= -1
        chain.append(pattern)
    images = []
    for pattern in chain:
        coefficients = np.zeros((32, 32), np.float32)
        coefficients[:8, :8].flat[1:] = 60 * pattern
        pixels = cv2.idct(coefficients)
        buffer = io.BytesIO()
        Image.fromarray(np.clip(pixels + 128, 0, 255).astype(np.uint8)).save(buffer, "PNG")
        images.append(buffer.getvalue())
    return images

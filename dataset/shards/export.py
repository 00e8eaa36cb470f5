"""Export a manifest as TFRecord training shards (format: docs/architecture.md).

Each split becomes ``shards/<split>-<i:05d>-of-<n:05d>.tfrecord`` files of at most
``shard_size`` records; the training split is shuffled (seeded) before it is cut, so
every shard holds a mix of classes. Images are read through the store (the segmented
cut-out when the manifest has a ``segmented_path``, falling back to the original when
that cannot be read), padded to a square with ``pad_colour`` (so no garment is
cropped), resized to ``image_size`` and re-encoded as JPEG, in a thread pool. Each
shard is written to a temporary local file and uploaded atomically; ``index.json`` is
written last and stale shards of an earlier export are deleted after it.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from dataset.core.store import Store
from dataset.images.check import open_image
from dataset.shards.tfrecord import FeatureValue, open_writer
from dataset.taxonomy.tasks import TaskSpec

logger = logging.getLogger(__name__)

DOMAIN_BY_SOURCE = {"marketplace": "user", "catalogue": "shop"}


class ExportConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    image_size: int = Field(224, ge=8, le=4096)
    shard_size: int = Field(1000, ge=1)
    jpeg_quality: int = Field(90, ge=1, le=100)
    pad_colour: tuple[int, int, int] = (255, 255, 255)
    writer: str = Field("auto", pattern="^(auto|tensorflow|python)$")
    max_pixels: int = Field(40_000_000, ge=1)
    workers: int = Field(4, ge=1)
    seed: int = 0


def square_jpeg(data: bytes, config: ExportConfig) -> bytes:
    """``data`` decoded, padded to a square, resized and encoded as JPEG."""
    image = open_image(data, config.max_pixels, draft=(config.image_size, config.image_size))
    if image.mode in ("RGBA", "LA", "P"):
        rgba = image.convert("RGBA")
        image = Image.new("RGB", rgba.size, config.pad_colour)
        image.paste(rgba, mask=rgba.getchannel("A"))
    image = image.convert("RGB")
    side = max(image.size)
    canvas = Image.new("RGB", (side, side), config.pad_colour)
    canvas.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
    canvas = canvas.resize((config.image_size, config.image_size), Image.Resampling.BILINEAR)
    out = io.BytesIO()
    canvas.save(out, format="JPEG", quality=config.jpeg_quality)
    return out.getvalue()


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def encode_labels(values: Any, spec: TaskSpec) -> list[float]:
    """Multi-hot (one-hot for a single-label task) in the class order of ``spec``."""
    hot = [0.0] * len(spec.classes)
    index = {cls: i for i, cls in enumerate(spec.classes)}
    for label in values if values is not None else ():
        if str(label) in index:
            hot[index[str(label)]] = 1.0
    return hot


def garment_id(row: dict[str, Any]) -> str:
    """The garment a photo shows: its catalogue product, else its listing (``site/item_id``);
    photos sharing it are views of one garment (the retrieval head's positives).

    >>> garment_id({"product_id": "P1"}), garment_id({"site": "demo", "item_id": 7})
    ('P1', 'demo/7')
    """
    product = _text(row.get("product_id"))
    if product:
        return product
    item = _text(row.get("item_id"))
    return f"{_text(row.get('site'))}/{item}" if item else ""


def record_features(
    row: dict[str, Any], image: bytes, specs: dict[str, TaskSpec]
) -> dict[str, FeatureValue]:
    domain = _text(row.get("domain")) or DOMAIN_BY_SOURCE.get(_text(row.get("source")), "")
    features: dict[str, FeatureValue] = {
        "image": [image],
        "image_path": [_text(row.get("image_path")).encode()],
        "repeat": [int(row.get("repeat", 1) or 1)],
        "pair_id": [_text(row.get("pair_id")).encode()],
        "product_id": [garment_id(row).encode()],
        "domain": [domain.encode()],
    }
    for name, spec in specs.items():
        features[f"label/{name}"] = encode_labels(row.get(name), spec)
    return features


def _read_image(store: Store, row: dict[str, Any], config: ExportConfig) -> tuple[bytes, str]:
    """Resized JPEG bytes and which file they came from; ``ValueError`` if neither works."""
    errors = []
    for column in ("segmented_path", "image_path"):
        key = _text(row.get(column))
        if not key:
            continue
        try:
            return square_jpeg(store.read_bytes(key), config), column
        except Exception as exc:  # noqa: BLE001 - any failure falls back or is reported
            errors.append(f"{key}: {exc}")
    raise ValueError("; ".join(errors) or "no image path")


@dataclass
class _Tally:
    bad: list[dict[str, str]] = field(default_factory=list)
    fallbacks: int = 0


def _write_shard(
    pool: ThreadPoolExecutor,
    store: Store,
    records: list[dict[str, Any]],
    path: Path,
    specs: dict[str, TaskSpec],
    config: ExportConfig,
    tally: _Tally,
    progress: Callable[[int], None] | None,
) -> list[int]:
    """Write ``records`` to ``path``; the positions of those written (the others are
    added to ``tally.bad``). Images are prepared in the pool, written in order."""

    def load(row: dict[str, Any]) -> tuple[bytes, str] | str:
        try:
            return _read_image(store, row, config)
        except ValueError as exc:
            return str(exc)
        finally:
            if progress is not None:
                progress(1)

    kept = []
    with contextlib.closing(open_writer(path, config.writer)) as writer:
        results = pool.map(load, records)
        for position, (row, result) in enumerate(zip(records, results, strict=True)):
            if isinstance(result, str):
                tally.bad.append({"image_path": _text(row.get("image_path")), "reason": result})
                continue
            image, used = result
            tally.fallbacks += used == "image_path" and bool(_text(row.get("segmented_path")))
            writer.write(record_features(row, image, specs))
            kept.append(position)
    return kept


def export_shards(
    store: Store,
    frame: pd.DataFrame,
    specs: dict[str, TaskSpec],
    prefix: str,
    config: ExportConfig,
    progress: Callable[[int], None] | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Write the shards of ``frame`` under ``<prefix>/shards/``; the exported rows (in
    shard order) and a summary with the index and the rows that could not be read."""
    splits: dict[str, Any] = {}
    exported: list[pd.DataFrame] = []
    tally = _Tally()
    written: list[str] = []
    with (
        ThreadPoolExecutor(max_workers=config.workers) as pool,
        tempfile.TemporaryDirectory(prefix="s2s-shards-") as tmp,
    ):
        for name, part in frame.groupby("split", sort=True):
            if name == "train":
                part = part.iloc[np.random.default_rng(config.seed).permutation(len(part))]
            part = part.reset_index(drop=True)
            count = max(1, math.ceil(len(part) / config.shard_size))
            files, kept = [], []
            for number in range(count):
                first = number * config.shard_size
                records = part.iloc[first : first + config.shard_size].to_dict("records")
                filename = f"{name}-{number:05d}-of-{count:05d}.tfrecord"
                local = Path(tmp) / filename
                positions = _write_shard(
                    pool, store, records, local, specs, config, tally, progress
                )
                kept += [first + p for p in positions]
                store.upload(local, f"{prefix}/shards/{filename}")
                local.unlink()
                files.append(filename)
                written.append(f"{prefix}/shards/{filename}")
            exported.append(part.iloc[kept])
            splits[str(name)] = {"files": files, "records": len(kept)}
    index: dict[str, Any] = {
        "image_size": config.image_size,
        "tasks": {name: spec.to_json() for name, spec in specs.items()},
        "splits": splits,
    }
    store.write_json(f"{prefix}/shards/index.json", index)
    written.append(f"{prefix}/shards/index.json")
    for stale in set(store.list(f"{prefix}/shards/")) - set(written):
        store.delete(stale)
    for entry in tally.bad:
        logger.warning("not exported %s: %s", entry["image_path"], entry["reason"])
    result = pd.concat(exported, ignore_index=True) if exported else frame.iloc[:0]
    summary = {
        "index": index,
        "bad": tally.bad,
        "segmented_fallbacks": int(tally.fallbacks),
        "files": written,
    }
    return result, summary

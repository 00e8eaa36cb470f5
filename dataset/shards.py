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

import io
import logging
import math
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from dataset.imagecheck import open_image
from dataset.store import Store
from dataset.taskspec import TaskSpec
from dataset.tfrecord import FeatureValue, open_writer

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


def record_features(
    row: dict[str, Any], image: bytes, specs: dict[str, TaskSpec]
) -> dict[str, FeatureValue]:
    domain = _text(row.get("domain")) or DOMAIN_BY_SOURCE.get(_text(row.get("source")), "")
    features: dict[str, FeatureValue] = {
        "image": [image],
        "image_path": [_text(row.get("image_path")).encode()],
        "repeat": [int(row.get("repeat", 1) or 1)],
        "pair_id": [_text(row.get("pair_id")).encode()],
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
    bad: list[dict[str, str]] = []
    fallbacks = 0
    written: list[str] = []
    rows_by_split = {name: part for name, part in frame.groupby("split", sort=True)}
    with (
        ThreadPoolExecutor(max_workers=config.workers) as pool,
        tempfile.TemporaryDirectory(prefix="s2s-shards-") as tmp,
    ):
        for name, part in rows_by_split.items():
            if name == "train":
                order = np.random.default_rng(config.seed).permutation(len(part))
                part = part.iloc[order]
            part = part.reset_index(drop=True)
            count = max(1, math.ceil(len(part) / config.shard_size))
            files, kept_rows = [], []
            for index in range(count):
                chunk = part.iloc[index * config.shard_size : (index + 1) * config.shard_size]
                records = chunk.to_dict("records")

                def load(row: dict[str, Any]) -> tuple[bytes, str] | str:
                    try:
                        return _read_image(store, row, config)
                    except ValueError as exc:
                        return str(exc)
                    finally:
                        if progress is not None:
                            progress(1)

                filename = f"{name}-{index:05d}-of-{count:05d}.tfrecord"
                local = Path(tmp) / filename
                writer = open_writer(local, config.writer)
                try:
                    for position, (row, result) in enumerate(
                        zip(records, pool.map(load, records), strict=True)
                    ):
                        if isinstance(result, str):
                            bad.append(
                                {"image_path": _text(row.get("image_path")), "reason": result}
                            )
                            continue
                        image, used = result
                        fallbacks += used == "image_path" and bool(_text(row.get("segmented_path")))
                        writer.write(record_features(row, image, specs))
                        kept_rows.append(index * config.shard_size + position)
                finally:
                    writer.close()
                key = f"{prefix}/shards/{filename}"
                store.upload(local, key)
                local.unlink()
                files.append(filename)
                written.append(key)
            kept = part.iloc[kept_rows]
            exported.append(kept)
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
    for entry in bad:
        logger.warning("not exported %s: %s", entry["image_path"], entry["reason"])
    result = pd.concat(exported, ignore_index=True) if exported else frame.iloc[:0]
    summary = {"index": index, "bad": bad, "segmented_fallbacks": int(fallbacks), "files": written}
    return result, summary

"""Find the images a dataset cannot use, before any stage decodes them for real.

Every row's ``image_path`` is read through the store and fully decoded (a JPEG at a
reduced DCT scale, which still reads every byte, so truncation is caught). A row is
set aside, with a reason, when its path is empty or absent from the store, the file is
not an image, its pixel count exceeds ``max_pixels`` (a decompression bomb: checked on
the header, before decoding), it is smaller than ``min_side``, or decoding fails (corrupt or truncated). Bad rows are
counted and listed, never fatal: the build goes on with the rest.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pandas as pd
from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel, ConfigDict, Field

from dataset.core.errors import StoreError
from dataset.core.store import Store

logger = logging.getLogger(__name__)


class CheckConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_pixels: int = Field(40_000_000, ge=1)
    min_side: int = Field(16, ge=1)
    workers: int = Field(4, ge=1)


def open_image(
    data: bytes, max_pixels: int, draft: tuple[int, int] | None = None, min_side: int = 1
) -> Image.Image:
    """Decode ``data`` fully; ``ValueError`` with a reason when it cannot be used."""
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise ValueError(f"decompression bomb ({exc})") from None
    except UnidentifiedImageError:
        raise ValueError("not an image") from None
    except Exception as exc:  # noqa: BLE001 - decoders raise OSError, SyntaxError, struct.error...
        raise ValueError(f"corrupt or truncated ({exc})") from None
    width, height = image.size
    if width * height > max_pixels:
        raise ValueError(f"decompression bomb ({width}x{height} > {max_pixels} pixels)")
    if min(width, height) < min_side:
        raise ValueError(f"too small ({width}x{height} < {min_side} pixels a side)")
    if draft is not None:
        image.draft("RGB", draft)
    try:
        image.load()
    except Exception as exc:  # noqa: BLE001 - as above, whatever the decoder raises
        raise ValueError(f"corrupt or truncated ({exc})") from None
    return image


def image_problem(store: Store, key: Any, config: CheckConfig) -> str | None:
    """Why the image at ``key`` is unusable, or ``None``."""
    if key is None or (isinstance(key, float) and key != key) or str(key) == "":
        return "missing image path"
    try:
        data = store.read_bytes(str(key))
    except StoreError:
        return "missing image file"
    if not data:
        return "empty file"
    try:
        open_image(data, config.max_pixels, draft=(64, 64), min_side=config.min_side)
    except ValueError as exc:
        return str(exc)
    return None


def check_images(
    store: Store,
    frame: pd.DataFrame,
    config: CheckConfig,
    progress: Callable[[int], None] | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The usable rows, and a summary listing the others (``bad``: path and reason)."""
    keys = frame["image_path"].tolist() if "image_path" in frame else [None] * len(frame)

    def check(key: Any) -> str | None:
        problem = image_problem(store, key, config)
        if progress is not None:
            progress(1)
        return problem

    with ThreadPoolExecutor(max_workers=config.workers) as pool:
        problems = list(pool.map(check, keys))
    bad: list[dict[str, Any]] = [
        {"image_path": None if p == "missing image path" else str(k), "reason": p}
        for k, p in zip(keys, problems, strict=True)
        if p is not None
    ]
    good = frame[[p is None for p in problems]].reset_index(drop=True)
    reasons: dict[str, int] = {}
    for entry in bad:
        reason = str(entry["reason"]).split(" (")[0]
        reasons[reason] = reasons.get(reason, 0) + 1
    for entry in bad:
        logger.warning("skipping image %s: %s", entry["image_path"], entry["reason"])
    summary = {"checked": len(frame), "usable": len(good), "bad": bad, "bad_by_reason": reasons}
    return good, summary

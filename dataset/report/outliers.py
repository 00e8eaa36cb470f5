"""Images a reviewer should look at: tiny, blurred, nearly blank or of extreme aspect.

Measured with OpenCV on a grey copy scaled to ``measure_side`` (so the blur figure, the
variance of the Laplacian, does not depend on the photo's resolution):

>>> flags(Measure(width=20, height=90, blur=3.0, blank=40.0), OutlierConfig())
['tiny', 'blurred', 'extreme aspect']
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from dataset.core.store import Store
from dataset.report.config import OutlierConfig


@dataclass(frozen=True)
class Measure:
    width: int
    height: int
    blur: float  # variance of the Laplacian of the grey image at measure_side
    blank: float  # standard deviation of grey levels


def measure(data: bytes, side: int) -> Measure | None:
    """The measures of one encoded image, or None when OpenCV cannot decode it."""
    import cv2

    grey = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if grey is None:
        return None
    height, width = grey.shape
    scale = min(1.0, side / max(height, width))  # never upscale: it would blur
    small = cv2.resize(
        grey,
        (max(1, round(width * scale)), max(1, round(height * scale))),
        interpolation=cv2.INTER_AREA,
    )
    blur = float(cv2.Laplacian(small, cv2.CV_64F).var())
    return Measure(int(width), int(height), blur, float(small.std()))


def flags(m: Measure, config: OutlierConfig) -> list[str]:
    out = []
    if min(m.width, m.height) < config.min_side:
        out.append("tiny")
    if m.blur < config.max_blur:
        out.append("blurred")
    if m.blank < config.max_blank:
        out.append("nearly blank")
    if max(m.width, m.height) / max(1, min(m.width, m.height)) > config.max_aspect:
        out.append("extreme aspect")
    return out


def severity(m: Measure, config: OutlierConfig) -> float:
    """How far past its thresholds an image is (0: none), to sort the gallery."""
    aspect = max(m.width, m.height) / max(1, min(m.width, m.height))
    return float(
        max(0.0, 1 - min(m.width, m.height) / config.min_side)
        + max(0.0, 1 - m.blur / config.max_blur if config.max_blur else 0.0)
        + max(0.0, 1 - m.blank / config.max_blank if config.max_blank else 0.0)
        + max(0.0, aspect / config.max_aspect - 1)
    )


def measure_all(
    store: Store, keys: Sequence[str], config: OutlierConfig
) -> dict[str, Measure | None]:
    """Measures of every key (threads: OpenCV releases the GIL while it decodes)."""

    def one(key: str) -> Measure | None:
        try:
            return measure(store.read_bytes(key), config.measure_side)
        except Exception:  # noqa: BLE001 - an unreadable image was already reported by check
            return None

    unique = list(dict.fromkeys(keys))
    with ThreadPoolExecutor(config.workers) as pool:
        return dict(zip(unique, pool.map(one, unique), strict=True))

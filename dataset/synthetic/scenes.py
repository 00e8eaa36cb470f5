"""Backdrops and sensor noise for the garment renderer.

A studio shot has a plain light backdrop; a seller's photo a wall or a sheet, or a
room with a floor and furniture. Noise comes from a fixed bank of fields rolled by the
photo's generator: as random-looking as fresh noise, much cheaper, still deterministic.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

SENSOR_NOISE = {"studio": 1.5, "plain": 4.0, "cluttered": 6.0}  # grey levels, one sigma


@lru_cache(maxsize=16)
def grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates in [0, 1] (x, y), shared and read-only."""
    axis = (np.arange(size, dtype=np.float32) + 0.5) / size
    gx, gy = np.meshgrid(axis, axis)
    gx.flags.writeable = gy.flags.writeable = False
    return gx, gy


@lru_cache(maxsize=8)
def _noise_bank(size: int) -> np.ndarray:
    # Drawing fresh Gaussian noise dominated the render time; a fixed bank of fields,
    # picked and rolled by the photo's generator, looks the same and stays deterministic.
    bank = np.random.default_rng(12345).standard_normal((4, size, size)).astype(np.float32)
    bank.flags.writeable = False
    return bank


def noise(size: int, rng: np.random.Generator) -> np.ndarray:
    """A (size, size) field of unit Gaussian noise."""
    k, dy, dx = (int(x) for x in rng.integers(0, [4, size, size]))
    return np.roll(_noise_bank(size)[k], (dy, dx), axis=(0, 1))


def background(kind: str, size: int, rng: np.random.Generator) -> Image.Image:
    """A ``size`` x ``size`` backdrop: ``studio``, ``plain`` (a wall or sheet) or ``cluttered``."""
    if kind not in SENSOR_NOISE:
        raise ValueError(
            f"unknown background; expected one of {sorted(SENSOR_NOISE)}. Received: {kind!r}"
        )
    gx, gy = grid(size)
    x, y = gx[0], gy[:, 0]
    arr = np.empty((size, size, 3), dtype=np.uint8)
    if kind == "studio":
        tone = float(rng.uniform(228, 248))
        arr[:] = (tone - 10.0 * y).astype(np.uint8)[:, None, None]  # a soft top-down falloff
        return Image.fromarray(arr)
    wall = (rng.uniform(80, 230) * rng.uniform(0.85, 1.15, 3)).astype(np.float32)
    if kind == "plain":
        folds = 1.0 + 0.08 * np.sin(gx * rng.uniform(3, 9) + gy * rng.uniform(2, 6))
        return Image.fromarray(np.clip(folds[..., None] * wall, 0, 255).astype(np.uint8))
    # A room: a lit wall above a planked floor (both vary along x only), then furniture.
    floor = (rng.uniform(50, 200) * rng.uniform(0.75, 1.25, 3)).astype(np.float32)
    horizon = int(size * rng.uniform(0.45, 0.8))
    planks = 1.0 + 0.12 * (np.sin(x * size / rng.uniform(4, 10)) > 0.9)
    arr[:horizon] = np.clip(wall * (0.85 + 0.3 * x[:, None]), 0, 255).astype(np.uint8)
    arr[horizon:] = np.clip(floor * planks[:, None], 0, 255).astype(np.uint8)
    image = Image.fromarray(arr)
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(3, 9))):
        x0, y0 = rng.uniform(-0.2, 1.0, 2) * size
        w, h = rng.uniform(0.1, 0.5, 2) * size
        fill = tuple(int(c) for c in rng.integers(0, 256, 3))
        box = (float(x0), float(y0), float(x0 + w), float(y0 + h))
        (draw.rectangle if rng.random() < 0.6 else draw.ellipse)(box, fill=fill)
    return image

"""Each image as stage 1 decoded it for its chroma grid, kept on local disk for stage 2.

Stage 1 decodes every image in RGB at ``feature_side`` and finds the object's box for
the chroma grid; stage 2 needs the same pixels and box for its views. Rather than decode
and resize again (about half a millisecond an image, more for large photos), stage 1's
workers append them to scratch files (raw bytes, one file per task of images) and stage
2's workers read them back by place: :class:`Place` is all that travels.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

NO_BOX = -1


@dataclass(frozen=True)
class FeaturePixels:
    """An image at ``feature_side``: RGB, the object's box (with its margin) and the
    chroma grid of the object (CIELAB a*, b*, uint8)."""

    rgb: np.ndarray  # (h, w, 3) uint8
    box: tuple[int, int, int, int] | None
    grid: np.ndarray  # (cells, cells, 2) uint8


class Place(NamedTuple):
    """Where :func:`spill` left an image's :class:`FeaturePixels`."""

    file: str
    offset: int
    height: int
    width: int
    cells: int


def spill(folder: str, images: list[FeaturePixels]) -> list[Place]:
    """Writes ``images`` to a new file in ``folder``; their places, in order."""
    handle, path = tempfile.mkstemp(dir=folder, suffix=".raw")
    places, offset = [], 0
    with os.fdopen(handle, "wb") as out:
        for image in images:
            box = np.array(image.box if image.box is not None else (NO_BOX,) * 4, np.int32)
            for part in (image.rgb, box, image.grid):
                out.write(np.ascontiguousarray(part).tobytes())
            height, width = image.rgb.shape[:2]
            places.append(Place(path, offset, height, width, image.grid.shape[0]))
            offset += height * width * 3 + box.nbytes + image.grid.nbytes
    return places


def read_spilled(place: Place) -> FeaturePixels:
    """The :class:`FeaturePixels` that :func:`spill` wrote at ``place``."""
    pixels = place.height * place.width * 3
    size = pixels + 4 * 4 + place.cells * place.cells * 2
    with open(place.file, "rb") as source:
        source.seek(place.offset)
        data = source.read(size)
    if len(data) != size:
        raise OSError(f"{place.file}: {len(data)} bytes at {place.offset}, expected {size}")
    rgb = np.frombuffer(data, np.uint8, pixels).reshape(place.height, place.width, 3)
    box = tuple(np.frombuffer(data, np.int32, 4, pixels).tolist())
    grid = np.frombuffer(data, np.uint8, offset=pixels + 16).reshape(place.cells, place.cells, 2)
    return FeaturePixels(rgb, None if box[0] == NO_BOX else box, grid)  # type: ignore[arg-type]

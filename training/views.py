"""Test-time views: the heads' probabilities averaged over the image and altered copies.

``evaluate --views mirror,zoom-in`` reads each image as it is and as each named view
(a registry: one function per view, images ``(batch, side, side, 3)`` float 0..255, white
background), and averages every head's probabilities. Thresholds recorded in
``encoder.json`` were chosen on single views and are kept as they are.

>>> import numpy as np
>>> image = np.zeros((1, 4, 4, 3), "float32"); image[0, :, 0] = 255
>>> [float(v) for v in np.asarray(VIEWS["mirror"](image))[0, 0, :, 0]]
[0.0, 0.0, 0.0, 255.0]
>>> shrunk = np.asarray(VIEWS["zoom-out"](np.zeros((1, 20, 20, 3), "float32")))
>>> float(shrunk[0, 0, 0, 0]), float(shrunk[0, 10, 10, 0])  # a white frame round the image
(255.0, 0.0)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import keras

from dataset.core.errors import UserError

ZOOM = 0.85  # the kept (zoom-in) or shrunk-to (zoom-out) share of the side


def _mirror(images: Any) -> Any:
    return keras.ops.flip(images, axis=2)


def _zoom_in(images: Any) -> Any:
    side = int(images.shape[1])
    kept = round(side * ZOOM)
    start = (side - kept) // 2
    centre = images[:, start : start + kept, start : start + kept, :]
    return keras.ops.image.resize(centre, (side, side), interpolation="bilinear")


def _zoom_out(images: Any) -> Any:
    side = int(images.shape[1])
    small = round(side * ZOOM)
    before = (side - small) // 2
    after = side - small - before
    shrunk = keras.ops.image.resize(images, (small, small), interpolation="bilinear")
    # Padded with white, the background the segment stage paints around a garment.
    padding = [(0, 0), (before, after), (before, after), (0, 0)]
    return keras.ops.pad(shrunk - 255.0, padding) + 255.0


VIEWS: dict[str, Callable[[Any], Any]] = {
    "mirror": _mirror,
    "zoom-in": _zoom_in,
    "zoom-out": _zoom_out,
}


def parse_views(text: str | None) -> tuple[str, ...]:
    """``"mirror,zoom-in"`` -> the view names, each checked against :data:`VIEWS`."""
    names = tuple(name.strip() for name in (text or "").split(",") if name.strip())
    unknown = [name for name in names if name not in VIEWS]
    if unknown:
        raise UserError(f"--views: use {sorted(VIEWS)}. Received: {unknown}")
    return names


def averaged_over_views(model: Any, views: Sequence[str]) -> Callable[..., dict[str, Any]]:
    """``model``, its probability outputs averaged over the image and ``views``."""

    def predict(images: Any, training: bool = False) -> dict[str, Any]:
        images = keras.ops.cast(images, "float32")
        outputs = [model(images, training=training)]
        outputs += [model(VIEWS[name](images), training=training) for name in views]
        return {
            key: keras.ops.mean(keras.ops.stack([out[key] for out in outputs]), axis=0)
            for key in outputs[0]
            if key.endswith("_probs")
        }

    return predict

"""The augmentation of training/augment.py on NumPy images with OpenCV, for the input
pipeline without TensorFlow (training/pydata.py).

Same transforms, probabilities and ranges (:class:`~training.config.AugmentConfig`):
rotation in +-``rotation_degrees`` and a horizontal translation (one affine warp, edge
pixels repeated like Keras' ``fill_mode="nearest"``), the garment shrunk and placed
anywhere (another warp, edges repeated), a horizontal flip, a block of background left
beside the garment, a colour cast, a Gaussian blur and a JPEG re-encoding at a quality drawn from ``[low, high)``. Works on ``uint8`` images in
OpenCV's BGR order (as decoded: no conversion before the JPEG re-encoding); each call
takes its own random generator, so batches decoded by several threads stay reproducible.

>>> import numpy as np
>>> from training.config import AugmentConfig
>>> flip_only = AugmentConfig(rotation_probability=0, translation_probability=0,
...                           flip_probability=1, jpeg_probability=0)
>>> image = np.arange(12, dtype=np.uint8).reshape(1, 4, 3)
>>> NumpyAugmenter(flip_only)(image, np.random.default_rng(0))[0, 0].tolist()
[9, 10, 11]
"""

from __future__ import annotations

import numpy as np

from training.augment import WHITE_RAMP
from training.config import AugmentConfig


class NumpyAugmenter:
    """Callable on one ``(H, W, 3)`` uint8 BGR image with a ``numpy`` random generator."""

    def __init__(self, config: AugmentConfig) -> None:
        self.config = config

    def __call__(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        import cv2

        cfg = self.config
        height, width = image.shape[:2]
        angle = shift = 0.0
        if cfg.rotation_probability > 0 and rng.random() < cfg.rotation_probability:
            angle = rng.uniform(-cfg.rotation_degrees, cfg.rotation_degrees)
        if cfg.translation_probability > 0 and rng.random() < cfg.translation_probability:
            shift = rng.uniform(-cfg.translation_fraction, cfg.translation_fraction) * width
        if angle or shift:
            matrix = cv2.getRotationMatrix2D(((width - 1) / 2, (height - 1) / 2), angle, 1.0)
            matrix[0, 2] += shift
            image = cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
        if cfg.scale_probability > 0 and rng.random() < cfg.scale_probability:
            scale = rng.uniform(*cfg.scale_range)
            offset_x, offset_y = rng.random(2) * (1 - scale) * np.array([width, height])
            matrix = np.array([[scale, 0, offset_x], [0, scale, offset_y]])
            image = cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
        if cfg.flip_probability > 0 and rng.random() < cfg.flip_probability:
            image = cv2.flip(image, 1)  # a contiguous copy: cheaper to convert than a view
        if cfg.leftover_probability > 0 and rng.random() < cfg.leftover_probability:
            sides = rng.uniform(*cfg.leftover_size, 2) * (height, width)
            top, left = rng.random(2) * ((height, width) - sides)
            rows, columns = np.arange(height)[:, None], np.arange(width)[None, :]
            inside = (rows >= top) & (rows < top + sides[0]) & (columns >= left)
            inside &= columns < left + sides[1]
            paint = inside[..., None] * (1 - _garment(image))
            colour = rng.uniform(0, 255, 3)
            image = np.clip(image * (1 - paint) + colour * paint, 0, 255).astype(np.uint8)
        if cfg.cast_probability > 0 and rng.random() < cfg.cast_probability:
            gains = rng.uniform(1 - cfg.cast_gain, 1 + cfg.cast_gain, 3)
            image = np.clip(image * (1 + _garment(image) * (gains - 1)), 0, 255).astype(np.uint8)
        if cfg.blur_probability > 0 and rng.random() < cfg.blur_probability:
            sigma = rng.uniform(0.5, 1.0) * cfg.blur_sigma * height / 128
            image = cv2.GaussianBlur(image, (0, 0), sigma)
        if cfg.jpeg_probability > 0 and rng.random() < cfg.jpeg_probability:
            low, high = cfg.jpeg_quality
            quality = int(rng.integers(low, high))
            ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
            decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR) if ok else None
            if decoded is not None:  # encoding a valid uint8 image does not fail
                image = decoded
        return image


def _garment(image: np.ndarray) -> np.ndarray:
    """:func:`training.augment.garment` of a ``uint8`` image."""
    return np.clip((255.0 - image.min(axis=-1, keepdims=True)) / WHITE_RAMP, 0, 1)

"""The augmentation of training/augment.py on NumPy images with OpenCV, for the input
pipeline without TensorFlow (training/pydata.py).

Same transforms, probabilities and ranges (:class:`~training.config.AugmentConfig`):
rotation in +-``rotation_degrees`` and a horizontal translation (one affine warp, edge
pixels repeated like Keras' ``fill_mode="nearest"``), a horizontal flip and a JPEG
re-encoding at a quality drawn from ``[low, high)``. Works on ``uint8`` images in
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
        if cfg.flip_probability > 0 and rng.random() < cfg.flip_probability:
            image = cv2.flip(image, 1)  # a contiguous copy: cheaper to convert than a view
        if cfg.jpeg_probability > 0 and rng.random() < cfg.jpeg_probability:
            low, high = cfg.jpeg_quality
            quality = int(rng.integers(low, high))
            ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
            decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR) if ok else None
            if decoded is not None:  # encoding a valid uint8 image does not fail
                image = decoded
        return image

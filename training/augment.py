"""Training-only augmentation of one image (float32 0..255), as in SEED-NOTES.md.

Each transform is applied independently with its own probability: rotation in
+-``rotation_degrees``, a small horizontal translation, a horizontal flip and a JPEG
re-encoding at a low quality (shoppers' photos are often poor). Keras preprocessing
layers do the geometry and ``tf.image`` the rest (imgaug breaks on NumPy 2).
"""

from __future__ import annotations

from typing import Any

from training.config import AugmentConfig


class Augmenter:
    """Callable on one ``(H, W, 3)`` float32 image inside a ``tf.data`` map."""

    def __init__(self, config: AugmentConfig, seed: int = 0) -> None:
        import keras

        self.config = config
        self.rotation = keras.layers.RandomRotation(
            config.rotation_degrees / 360.0, fill_mode="nearest", seed=seed
        )
        self.translation = keras.layers.RandomTranslation(
            0.0, config.translation_fraction, fill_mode="nearest", seed=seed + 1
        )

    def __call__(self, image: Any) -> Any:
        import tensorflow as tf

        cfg = self.config

        def maybe(probability: float, transform: Any, x: Any) -> Any:
            if probability <= 0:
                return x
            return tf.cond(tf.random.uniform(()) < probability, lambda: transform(x), lambda: x)

        image = maybe(cfg.rotation_probability, lambda x: self.rotation(x, training=True), image)
        image = maybe(
            cfg.translation_probability, lambda x: self.translation(x, training=True), image
        )
        image = maybe(cfg.flip_probability, tf.image.flip_left_right, image)
        low, high = cfg.jpeg_quality

        def jpeg(x: Any) -> Any:
            pixels = tf.cast(tf.clip_by_value(x, 0, 255), tf.uint8)
            return tf.cast(tf.image.random_jpeg_quality(pixels, low, high), tf.float32)

        image = maybe(cfg.jpeg_probability, jpeg, image)
        return tf.ensure_shape(image, [None, None, 3])

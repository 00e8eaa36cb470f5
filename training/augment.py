"""Training-only augmentation of one image (float32 0..255), as in SEED-NOTES.md.

Each transform is applied independently with its own probability: rotation in
+-``rotation_degrees``, a small horizontal translation, the garment shrunk and placed
anywhere in the frame, a horizontal flip, a block of background left beside the garment,
a colour cast, a Gaussian blur and a JPEG re-encoding at a low quality (shoppers' photos
are often poor). Keras preprocessing
layers do rotation and translation, TensorFlow ops the rest (imgaug breaks on NumPy 2).
"""

from __future__ import annotations

import math
from typing import Any

from training.config import AugmentConfig

# Pixels whose darkest channel is this close to 255 or closer count as background, partly
# below it (antialiased edges): the colour cast leaves them white.
WHITE_RAMP = 16.0


class Augmenter:
    """Callable on one ``(H, W, 3)`` float32 image inside a ``tf.data`` map."""

    def __init__(self, config: AugmentConfig, seed: int = 0) -> None:
        import keras

        self.config = config
        # float32 whatever the global policy: under mixed precision the layers would
        # return bfloat16 or float16 beside the other transforms' float32.
        self.rotation = keras.layers.RandomRotation(
            config.rotation_degrees / 360.0, fill_mode="nearest", seed=seed, dtype="float32"
        )
        self.translation = keras.layers.RandomTranslation(
            0.0, config.translation_fraction, fill_mode="nearest", seed=seed + 1, dtype="float32"
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
        image = maybe(cfg.scale_probability, lambda x: shrink(x, cfg.scale_range), image)
        image = maybe(cfg.flip_probability, tf.image.flip_left_right, image)
        image = maybe(cfg.leftover_probability, lambda x: leftover(x, cfg.leftover_size), image)
        image = maybe(cfg.cast_probability, lambda x: cast(x, cfg.cast_gain), image)
        image = maybe(cfg.blur_probability, lambda x: blur(x, cfg.blur_sigma), image)
        low, high = cfg.jpeg_quality

        def jpeg(x: Any) -> Any:
            pixels = tf.cast(tf.clip_by_value(x, 0, 255), tf.uint8)
            return tf.cast(tf.image.random_jpeg_quality(pixels, low, high), tf.float32)

        image = maybe(cfg.jpeg_probability, jpeg, image)
        return tf.ensure_shape(image, [None, None, 3])


def shrink(image: Any, scale_range: tuple[float, float]) -> Any:
    """The image scaled by a factor drawn from ``scale_range`` and placed at a random
    position, the frame's edge pixels repeated around it (a cut-out's white background)."""
    import tensorflow as tf

    size = tf.cast(tf.shape(image)[:2], tf.float32)
    scale = tf.random.uniform((), *scale_range)
    offset_y, offset_x = tf.unstack(tf.random.uniform((2,)) * (1.0 - scale) * size)
    # Output pixel (x, y) reads input ((x - offset_x) / scale, (y - offset_y) / scale).
    inverse = 1.0 / scale
    transform = tf.stack(
        [inverse, 0.0, -offset_x * inverse, 0.0, inverse, -offset_y * inverse, 0.0, 0.0]
    )
    shrunk = tf.raw_ops.ImageProjectiveTransformV3(
        images=image[None],
        transforms=transform[None],
        output_shape=tf.shape(image)[:2],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="NEAREST",
    )
    return shrunk[0]


def garment(image: Any) -> Any:
    """Per pixel (H, W, 1), 0 on the white background, 1 on the garment, a ramp of
    :data:`WHITE_RAMP` levels between (antialiased edges)."""
    import tensorflow as tf

    return tf.clip_by_value(
        (255.0 - tf.reduce_min(image, axis=-1, keepdims=True)) / WHITE_RAMP, 0.0, 1.0
    )


def leftover(image: Any, size_range: tuple[float, float]) -> Any:
    """A rectangle of one random colour, sides drawn from ``size_range`` of the frame's, at
    a random place, painted on the white background only: the garment stays in front."""
    import tensorflow as tf

    size = tf.cast(tf.shape(image)[:2], tf.float32)
    sides = tf.random.uniform((2,), *size_range) * size
    top, left = tf.unstack(tf.random.uniform((2,)) * (size - sides))
    rows = tf.range(size[0])[:, None]
    columns = tf.range(size[1])[None, :]
    inside = (rows >= top) & (rows < top + sides[0]) & (columns >= left)
    inside &= columns < left + sides[1]
    paint = tf.cast(inside, tf.float32)[..., None] * (1.0 - garment(image))
    return image * (1.0 - paint) + tf.random.uniform((3,), 0.0, 255.0) * paint


def cast(image: Any, gain: float) -> Any:
    """Each channel times its own factor drawn from ``[1 - gain, 1 + gain]``, except on
    white: a cut-out's background is painted white after the photo's cast."""
    import tensorflow as tf

    gains = tf.random.uniform((3,), 1.0 - gain, 1.0 + gain)
    return tf.clip_by_value(image * (1.0 + garment(image) * (gains - 1.0)), 0.0, 255.0)


def blur(image: Any, largest_sigma: float) -> Any:
    """A Gaussian blur of sigma drawn from ``[0.5, 1] * largest_sigma`` pixels at 128 px,
    scaled to the image's side; edges reflected."""
    import tensorflow as tf

    side = image.shape[0] or 128  # static after the pipeline's resize
    radius = max(1, math.ceil(3 * largest_sigma * side / 128))
    sigma = tf.random.uniform((), 0.5, 1.0) * largest_sigma * side / 128
    steps = tf.range(-radius, radius + 1, dtype=tf.float32)
    kernel = tf.exp(-0.5 * tf.square(steps / sigma))
    kernel /= tf.reduce_sum(kernel)
    padded = tf.pad(image[None], [[0, 0], [radius, radius], [radius, radius], [0, 0]], "REFLECT")
    rows = tf.tile(tf.reshape(kernel, (-1, 1, 1, 1)), (1, 1, 3, 1))
    columns = tf.tile(tf.reshape(kernel, (1, -1, 1, 1)), (1, 1, 3, 1))
    once = tf.nn.depthwise_conv2d(padded, rows, (1, 1, 1, 1), "VALID")
    return tf.nn.depthwise_conv2d(once, columns, (1, 1, 1, 1), "VALID")[0]

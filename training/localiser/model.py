"""The localiser network: an RGB photo in, a coarse garment mask (1/4 of its side) out.

Four strided convolutions give a 1/16 map that sees the whole photo; it is upsampled and
joined with the 1/4 map, so the mask knows both where the garment is and its outline.
Only ``keras.layers`` and ``keras.ops``: the model trains and runs on TensorFlow and JAX.

>>> model = build_localiser(64)
>>> model.output_shape
(None, 16, 16, 1)
"""

from __future__ import annotations

from typing import Any

STRIDE = 4  # input side / mask side


def _block(x: Any, filters: int, name: str, strides: int = 1) -> Any:
    import keras

    x = keras.layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False,
                            name=f"{name}_conv")(x)  # fmt: skip
    # momentum 0.9: a demo run of a few hundred steps must warm the statistics up
    x = keras.layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x)


def build_localiser(image_size: int, width: int = 16) -> Any:
    """The untrained network for ``image_size`` x ``image_size`` photos (0..255 RGB)."""
    import keras

    if image_size % 16:
        raise ValueError(f"image size must be a multiple of 16. Received: image_size={image_size}")
    inputs = keras.Input((image_size, image_size, 3), name="photo")
    x = keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="scale")(inputs)
    x = _block(x, width, "down1", strides=2)  # 1/2
    quarter = _block(x, 2 * width, "down2", strides=2)  # 1/4
    x = _block(quarter, 3 * width, "down3", strides=2)  # 1/8
    x = _block(x, 4 * width, "down4", strides=2)  # 1/16
    x = _block(x, 4 * width, "context")
    x = keras.layers.UpSampling2D(4, interpolation="bilinear", name="up")(x)
    x = keras.layers.Concatenate(name="join")([x, quarter])
    x = _block(x, 2 * width, "fuse")
    outputs = keras.layers.Conv2D(1, 1, activation="sigmoid", name="mask")(x)
    return keras.Model(inputs, outputs, name="garment_localiser")

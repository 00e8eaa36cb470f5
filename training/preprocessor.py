"""The preprocessing layer inside every encoder: raw RGB in, ResNet50 input out.

Exported encoders take raw RGB (``uint8`` or float in 0..255, any height and width) so
callers never repeat the training preprocessing. The layer casts to float32, resizes to
the training size (bilinear, as the shards were made) and applies
``keras.applications.resnet50.preprocess_input`` ("caffe" mode: RGB -> BGR, minus the
ImageNet channel means). It is registered with Keras, so ``encoder.keras`` reloads
anywhere this module has been imported (:mod:`training.encoder_io` does that).

>>> import numpy as np
>>> layer = ImagePreprocessor(image_size=4)
>>> tuple(layer(np.zeros((1, 8, 8, 3), "uint8")).shape)
(1, 4, 4, 3)
"""

from __future__ import annotations

from typing import Any

import keras

# keras.applications.resnet50.preprocess_input, "caffe" mode: BGR channel means.
BGR_MEANS = (103.939, 116.779, 123.68)


@keras.saving.register_keras_serializable(package="street2shop")
class ImagePreprocessor(keras.layers.Layer):
    """Resize raw RGB images to ``image_size`` and apply ResNet50's ``preprocess_input``."""

    def __init__(self, image_size: int, **kwargs: Any) -> None:
        kwargs.setdefault("dtype", "float32")  # preprocessing stays float32 under mixed precision
        super().__init__(**kwargs)
        self.image_size = int(image_size)

    def call(self, images: Any) -> Any:
        x = keras.ops.cast(images, "float32")
        shape = tuple(x.shape)
        if shape[1:3] != (self.image_size, self.image_size):
            x = keras.ops.image.resize(
                x, (self.image_size, self.image_size), interpolation="bilinear"
            )
        x = keras.ops.flip(x, axis=-1)  # RGB -> BGR
        return x - keras.ops.convert_to_tensor(BGR_MEANS, dtype="float32")

    def compute_output_shape(self, input_shape: tuple[Any, ...]) -> tuple[Any, ...]:
        return (input_shape[0], self.image_size, self.image_size, 3)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "image_size": self.image_size}

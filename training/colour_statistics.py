"""Global colour statistics of a garment's cut-out, computed inside the encoder.

Colour is a global, low-level property: the deep pooled features of a backbone shared
with type, material and gender keep it poorly (on the demo worlds the colour head shared
0.60-0.65 macro-F1 against 0.72-0.76 trained alone, and the CIELAB statistics alone give
0.82 with gradient-boosted trees: docs/benchmarks.md). A head that asks for them
(``colour_statistics`` in the training config) reads these statistics beside the pooled
features. The layer takes the same raw RGB as the encoder, so exports still take raw input.

Pixels are converted to CIELAB (sRGB, D65). The shards hold cut-outs on a white
background, so each pixel is weighted by how far it is from white (a soft mask, exactly
zero on the background: a white garment's shading still counts). Over the weighted pixels: the mean and standard
deviation of L, a and b; a soft histogram of hue (12 sectors) by lightness (dark, mid,
light) for chromatic pixels, and of lightness (4 levels) for achromatic ones; and the
share of the image the garment covers. 47 numbers, each about 0..1.

>>> import numpy as np
>>> red = np.zeros((1, 8, 8, 3), "uint8"); red[..., 0] = 200
>>> stats = np.asarray(ColourStatistics(image_size=8)(red))
>>> stats.shape, bool(abs(stats[0, -1] - 1) < 0.01)
((1, 47), True)
"""

from __future__ import annotations

import math
from typing import Any

import keras

HUE_SECTORS = 12
LIGHTNESS_LEVELS = 3  # of chromatic pixels: dark, mid, light (brown vs orange vs beige)
GREY_LEVELS = 4  # of achromatic pixels: black, dark grey, light grey, white
FEATURES = 6 + HUE_SECTORS * LIGHTNESS_LEVELS + GREY_LEVELS + 1
# sRGB (linear) -> XYZ, rows divided by the D65 white point so white is (1, 1, 1).
_RGB_TO_XYZ = (
    (0.4124 / 0.95047, 0.3576 / 0.95047, 0.1805 / 0.95047),
    (0.2126, 0.7152, 0.0722),
    (0.0193 / 1.08883, 0.1192 / 1.08883, 0.9505 / 1.08883),
)
# CIELAB distances from white: background below the first (JPEG noise on white stays
# under it), garment above the second, a linear ramp between.
BACKGROUND_DISTANCES = (4.0, 8.0)
CHROMA_EDGE = 10.0  # chroma where a pixel turns from grey to coloured


def _triangular(values: Any, centres: Any, width: float) -> Any:
    """Soft bin memberships: 1 at a bin's centre, 0 one width away (sums to 1 inside)."""
    return keras.ops.relu(1 - keras.ops.abs(values[..., None] - centres) / width)


def to_cielab(rgb: Any) -> Any:
    """``(..., 3)`` RGB in 0..255 -> ``(..., 3)`` CIELAB (L 0..100, a and b about +-128)."""
    ops = keras.ops
    c = ops.clip(rgb / 255.0, 0.0, 1.0)
    linear = ops.where(c <= 0.04045, c / 12.92, ops.power((c + 0.055) / 1.055, 2.4))
    xyz = ops.matmul(linear, ops.transpose(ops.convert_to_tensor(_RGB_TO_XYZ, "float32")))
    f = ops.where(xyz > 0.008856, ops.power(ops.maximum(xyz, 1e-6), 1 / 3), 7.787 * xyz + 16 / 116)
    fx, fy, fz = f[..., 0], f[..., 1], f[..., 2]
    return ops.stack([116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)], axis=-1)


@keras.saving.register_keras_serializable(package="street2shop")
class ColourStatistics(keras.layers.Layer):
    """Raw RGB images (any size) -> ``(batch, FEATURES)`` colour statistics, float32."""

    def __init__(self, image_size: int, **kwargs: Any) -> None:
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.image_size = int(image_size)

    def call(self, images: Any) -> Any:
        ops = keras.ops
        x = ops.cast(images, "float32")
        if tuple(x.shape[1:3]) != (self.image_size, self.image_size):
            size = (self.image_size, self.image_size)
            x = ops.image.resize(x, size, interpolation="bilinear")
        lab = ops.reshape(to_cielab(x), (-1, self.image_size * self.image_size, 3))
        lightness, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
        chroma = ops.sqrt(a * a + b * b + 1e-6)
        from_white = ops.sqrt(ops.square(100 - lightness) + chroma * chroma)
        near, far = BACKGROUND_DISTANCES
        weight = ops.clip((from_white - near) / (far - near), 0.0, 1.0)
        total = ops.sum(weight, axis=1, keepdims=True) + 1e-3
        share = weight / total  # each pixel's share of the garment
        mean = ops.sum(share[..., None] * lab, axis=1)
        variance = ops.sum(share[..., None] * ops.square(lab - mean[:, None]), axis=1)
        spread = ops.sqrt(variance + 1e-6)
        coloured = ops.sigmoid((chroma - CHROMA_EDGE) / 3)
        hue = ops.arctan2(b, a)  # -pi..pi
        sector = 2 * math.pi / HUE_SECTORS
        centres = ops.arange(HUE_SECTORS, dtype="float32") * sector - math.pi
        wrapped = ops.abs(ops.mod(hue[..., None] - centres + math.pi, 2 * math.pi) - math.pi)
        hues = ops.relu(1 - wrapped / sector)  # (batch, pixels, sectors), circular
        # clipped: below 20 is all "dark", above 80 all "light"
        levels = _triangular(
            ops.clip(lightness, 20.0, 80.0), ops.convert_to_tensor([20.0, 50.0, 80.0]), 30.0
        )
        joint = hues[..., :, None] * levels[..., None, :]  # (batch, pixels, sectors, levels)
        chromatic = ops.sum((share * coloured)[..., None, None] * joint, axis=1)
        greys = _triangular(
            ops.clip(lightness, 0.0, 100.0), ops.convert_to_tensor([0.0, 33.3, 66.7, 100.0]), 33.3
        )
        achromatic = ops.sum((share * (1 - coloured))[..., None] * greys, axis=1)
        covered = ops.mean(weight, axis=1, keepdims=True)
        return ops.concatenate(
            [mean / 100, spread / 100,
             ops.reshape(chromatic, (-1, HUE_SECTORS * LIGHTNESS_LEVELS)), achromatic, covered],
            axis=-1,
        )  # fmt: skip

    def compute_output_shape(self, input_shape: tuple[Any, ...]) -> tuple[Any, ...]:
        return (input_shape[0], FEATURES)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "image_size": self.image_size}

"""Backbones: an image batch (already preprocessed) in, one pooled feature vector out.

A backbone is a function in :data:`BACKBONES` returning a Keras ``Model`` from
``(image_size, weights, name)``; adding one is adding an entry. ``resnet50`` is the
retailer's ResNet50 without top + GlobalAveragePooling2D (2048-d); ``tiny`` is a
three-convolution network (64-d) that trains on a CPU in seconds, for tests; ``small``
(eight convolutions, 256-d) sees a whole 64 px garment, for the CPU demo.

Weights: ``imagenet`` (Keras downloads them where the machine has internet, cached under
``KERAS_HOME``), ``none`` (random), or a local file (``.h5`` from
``keras.applications``, ``.weights.h5`` or ``.keras``) for clusters without internet; a
file that does not fit the backbone is a clear error.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dataset.core.errors import UserError

logger = logging.getLogger(__name__)


def _resnet50(image_size: int, name: str) -> Any:
    import keras

    return keras.applications.ResNet50(
        include_top=False,
        weights=None,
        input_shape=(image_size, image_size, 3),
        pooling="avg",
        name=name,
    )


def _tiny(image_size: int, name: str) -> Any:
    import keras

    inputs = keras.Input((image_size, image_size, 3), name=f"{name}_input")
    x = keras.layers.Rescaling(1 / 128.0)(inputs)  # caffe-preprocessed pixels to about -1..1
    for i, filters in enumerate((16, 32, 64)):
        x = keras.layers.Conv2D(filters, 3, strides=2, padding="same", use_bias=False,
                                name=f"conv{i}")(x)  # fmt: skip
        # momentum 0.9: short demo runs must warm the moving statistics up in a few steps
        x = keras.layers.BatchNormalization(momentum=0.9, name=f"bn{i}")(x)
        x = keras.layers.ReLU()(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(inputs, x, name=name)


def _small(image_size: int, name: str) -> Any:
    import keras

    inputs = keras.Input((image_size, image_size, 3), name=f"{name}_input")
    x = keras.layers.Rescaling(1 / 128.0)(inputs)
    # Two convolutions per stage, four stages: at 64 px the last 4x4 map sees the whole
    # garment, so its outline (what tells a cardigan from a jacket) reaches the pooling.
    for stage, filters in enumerate((32, 64, 128, 256)):
        for step, stride in enumerate((2, 1)):
            x = keras.layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False,
                                    name=f"conv{stage}_{step}")(x)  # fmt: skip
            x = keras.layers.BatchNormalization(momentum=0.9, name=f"bn{stage}_{step}")(x)
            x = keras.layers.ReLU()(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(inputs, x, name=name)


BACKBONES: dict[str, Callable[[int, str], Any]] = {
    "resnet50": _resnet50,
    "tiny": _tiny,
    "small": _small,
}
IMAGENET = {"resnet50"}  # backbones with ImageNet weights in keras.applications


def check_backbone(name: str) -> None:
    if name not in BACKBONES:
        raise UserError(
            f"unknown backbone; known: {sorted(BACKBONES)}. Received: backbone={name!r}"
        )


def build_backbone(name: str, image_size: int, weights: str, model_name: str = "backbone") -> Any:
    """The backbone ``name`` for ``image_size`` inputs with ``weights`` loaded."""
    check_backbone(name)
    model = BACKBONES[name](image_size, model_name)
    if weights == "none":
        return model
    if weights == "imagenet":
        if name not in IMAGENET:
            raise UserError(
                f"backbone {name!r} has no ImageNet weights. Received: weights=imagenet"
            )
        _load_imagenet(model, name, image_size)
        return model
    load_weights_file(model, Path(weights), name)
    return model


def _load_imagenet(model: Any, name: str, image_size: int) -> None:
    import keras

    try:
        pretrained = keras.applications.ResNet50(
            include_top=False, weights="imagenet", input_shape=(image_size, image_size, 3),
            pooling="avg",
        )  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - no internet, proxy, disk: all end the same way
        raise UserError(
            f"cannot get the ImageNet weights of {name} ({exc}); on an offline cluster pass "
            "--weights PATH (a local .h5/.keras file) or prefill KERAS_HOME"
        ) from None
    model.set_weights(pretrained.get_weights())


def load_weights_file(model: Any, path: Path, name: str) -> None:
    """Load a weights file into the backbone; a file that does not fit is a UserError."""
    import keras

    if not path.is_file():
        raise UserError(f"weights file not found. Received: weights={str(path)!r}")
    try:
        # Keras only warns when parts of a file match no layer: a partly loaded backbone
        # is a silently wrong model, so a warning is an error here.
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            if path.suffix == ".keras":
                # safe_mode: a user's file must not run code (a Lambda layer's bytecode)
                source = keras.models.load_model(path, compile=False, safe_mode=True)
                model.set_weights(source.get_weights())
            else:
                model.load_weights(path)
    except Exception as exc:  # noqa: BLE001 - shape, layer-count and format errors alike
        message = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        raise UserError(
            f"weights file {path} does not fit backbone {name!r} ({message}). "
            f"Received: weights={str(path)!r}"
        ) from None
    logger.info("loaded backbone weights from %s", path)

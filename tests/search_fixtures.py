"""Fixtures for the search tests: a tiny exported encoder and a tiny paired dataset.

The encoder has the exact contract of an exported one (``encoder.keras`` taking raw RGB
0..255 and returning ``<task>_embedding`` / ``<task>_probs``, plus ``encoder.json``) but
is an untrained little CNN: random projections still put a near-copy of an image closer
to it than to other images, which is what the search tests rely on.
"""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from dataset.core.store import open_store

TASKS = {
    "colour": ["red", "green", "blue"],
    "material": ["cotton", "wool"],
    "gender": ["men", "women"],
    "type": ["dresses", "jeans", "shirts"],
}
IMAGE_SIZE = 32
EMBEDDING_DIM = 16


def write_tiny_encoder(uri: str, encoder_id: str = "tiny-a", seed: int = 0) -> str:
    """Build and export a tiny encoder at ``uri`` (local folder or s3://); returns ``uri``."""
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3), name="image")
    x = keras.layers.Rescaling(1 / 127.5, offset=-1)(inputs)
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu")(x)
    x = keras.layers.Conv2D(16, 3, strides=2, activation="relu")(x)
    x = keras.layers.Flatten()(x)
    outputs = {}
    for task, classes in TASKS.items():
        embedding = keras.layers.Dense(EMBEDDING_DIM, name=f"{task}_embedding")(x)
        activation = "softmax" if task == "type" else "sigmoid"
        outputs[f"{task}_embedding"] = embedding
        outputs[f"{task}_probs"] = keras.layers.Dense(
            len(classes), activation=activation, name=f"{task}_probs"
        )(embedding)
    model = keras.Model(inputs, outputs)
    meta = {
        "tasks": {
            t: {"kind": "single" if t == "type" else "multi", "classes": c}
            for t, c in TASKS.items()
        },
        "image_size": IMAGE_SIZE,
        "backbone": "tiny-cnn",
        "encoder_id": encoder_id,
    }
    store = open_store(uri)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "encoder.keras"
        model.save(path)
        store.upload(path, "encoder.keras")
    store.write_json("encoder.json", meta)
    return uri


def jpeg(array: np.ndarray, quality: int = 92) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array.astype(np.uint8)).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def garment_image(rng: np.random.Generator, size: int = 48) -> np.ndarray:
    """A plain background with a few coloured blocks: distinct enough per seed."""
    image = np.full((size, size, 3), 235, dtype=np.uint8)
    for _ in range(3):
        x0, y0 = rng.integers(0, size - 12, 2)
        w, h = rng.integers(8, size // 2, 2)
        image[y0 : y0 + h, x0 : x0 + w] = rng.integers(0, 255, 3)
    return image


def near_copy(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A shopper's version: shifted by a pixel, slightly brighter, noisy."""
    out = np.roll(image.astype(np.int16), 1, axis=1) + 6
    out = out + rng.integers(-4, 5, out.shape)
    return np.clip(out, 0, 255).astype(np.uint8)


def write_paired_dataset(
    store_uri: str, products: int = 12, views: int = 3, seed: int = 0
) -> dict[str, object]:
    """A manifest at ``datasets/tiny/v1`` with shop views and user near-copies of view 0.

    Every product but the last has a user photo; one extra user photo has a pair_id with
    no shop photo (a query with no gallery match). Returns what the tests need to check.
    """
    rng = np.random.default_rng(seed)
    store = open_store(store_uri)
    rows = []
    for p in range(products):
        base = garment_image(rng)
        pid = f"P{p:03d}"
        for v in range(views):
            view = base if v == 0 else garment_image(rng)  # other views: backs, close-ups
            key = f"catalogue/tiny/images/{pid}-{v}.jpg"
            store.write_bytes(key, jpeg(view))
            rows.append(
                {
                    "image_path": key,
                    "domain": "shop",
                    "product_id": pid,
                    "item_id": None,
                    "pair_id": pid,
                    "type": [["dresses", "jeans", "shirts"][p % 3]],
                    "colour": [["red", "green", "blue"][p % 3]],
                }
            )
        if p < products - 1:
            key = f"raw/tiny/images/u-{pid}.jpg"
            store.write_bytes(key, jpeg(near_copy(base, rng)))
            rows.append(
                {
                    "image_path": key,
                    "domain": "user",
                    "product_id": None,
                    "item_id": f"u{p}",
                    "pair_id": pid,
                    "type": [["dresses", "jeans", "shirts"][p % 3]],
                    "colour": [["red", "green", "blue"][p % 3]],
                }
            )
    key = "raw/tiny/images/u-orphan.jpg"
    store.write_bytes(key, jpeg(garment_image(rng)))
    rows.append(
        {
            "image_path": key,
            "domain": "user",
            "product_id": None,
            "item_id": "orphan",
            "pair_id": "P999",
            "type": [["jeans"]][0],
            "colour": [["blue"]][0],
        }
    )
    store.write_parquet("datasets/tiny/v1/manifest.parquet", pd.DataFrame(rows))
    return {
        "dataset": f"{store_uri.rstrip('/')}/datasets/tiny/v1",
        "products": products,
        "views": views,
        "user_photo": "raw/tiny/images/u-P001.jpg",
        "pair": "P001",
    }


def write_json(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))

"""``s2s-train export``: the run's encoder as ``export/`` (the contract of docs/architecture.md).

``export/encoder.keras`` and ``export/encoder.json`` (copied from the run's ``model/``
with the ``encoder_id`` recomputed) and ``export/saved_model/`` (``model.export``: a
TensorFlow SavedModel whose ``serve`` signature takes float32 ``(batch, H, W, 3)`` RGB
in 0..255 and returns the same dict). A smoke check reloads both files and compares
their outputs with the in-memory model on a few images; a mismatch is an error and
nothing is published. It runs on the TensorFlow backend; the encoder may have been
trained on either (training/backend.py).
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from dataset.core.errors import UserError
from dataset.core.store import open_store

logger = logging.getLogger(__name__)

TOLERANCE = 1e-4  # float32 end to end: reloads must agree to rounding


def smoke_inputs(image_size: int, seed: int = 0) -> np.ndarray:
    """Two raw RGB images, one of another size (the model resizes inside)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (2, image_size + 7, image_size - 5, 3)).astype(np.float32)


def _max_difference(a: dict[str, Any], b: dict[str, Any]) -> float:
    return max(float(np.max(np.abs(np.asarray(a[k]) - np.asarray(b[k])))) for k in a)


def export(model_uri: str) -> dict[str, Any]:
    from training.backend import current_backend

    if current_backend() != "tensorflow":
        # encoder.keras does not depend on the backend: a JAX-trained encoder exports here.
        raise UserError(
            "export writes a TensorFlow SavedModel: run it on the TensorFlow backend "
            f"(s2s-train --backend tensorflow export ...). Received: backend={current_backend()}"
        )
    import keras
    import tensorflow as tf

    from training.encoder_io import MODEL_FILE, encoder_id, load_encoder

    source = load_encoder(f"{model_uri.rstrip('/')}/model")
    model, meta = source.model, dict(source.meta)
    meta["encoder_id"] = encoder_id(model)
    images = smoke_inputs(source.image_size)
    expected = {k: np.asarray(v) for k, v in model(images, training=False).items()}
    store = open_store(model_uri)
    with tempfile.TemporaryDirectory(prefix="s2s-export-") as tmp:
        folder = Path(tmp)
        model.save(folder / MODEL_FILE)
        model.export(str(folder / "saved_model"), format="tf_saved_model", verbose=False)
        reloaded = keras.models.load_model(folder / MODEL_FILE, compile=False)
        saved = tf.saved_model.load(str(folder / "saved_model"))  # kept: serve needs its variables
        served = saved.serve(tf.constant(images))
        checks = {
            "keras": _max_difference(expected, reloaded(images, training=False)),
            "saved_model": _max_difference(expected, served),
        }
        if encoder_id(reloaded) != meta["encoder_id"]:
            raise UserError("export smoke check: the reloaded weights differ (encoder_id)")
        for name, difference in checks.items():
            if not difference <= TOLERANCE:
                raise UserError(
                    f"export smoke check: the reloaded {name} model differs from the trained one "
                    f"by {difference:.2e} (> {TOLERANCE}); nothing was exported"
                )
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            store.upload(path, f"export/{path.relative_to(folder).as_posix()}")
    store.write_json("export/encoder.json", meta)  # last: readers look for it first
    logger.info("exported %s to %s", meta["encoder_id"], store.uri_for("export"))
    return {
        "export": store.uri_for("export"),
        "encoder_id": meta["encoder_id"],
        "smoke_check_max_difference": checks,
        "outputs": sorted(expected),
    }

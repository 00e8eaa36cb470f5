"""Train the garment localiser and write ``localiser.keras`` + ``localiser.json``.

The run: studio cut-outs (:mod:`training.localiser.cutouts`), composites of them on
scenes (:mod:`training.localiser.composite`) with a held-back validation set generated
with another seed, ``keras.Model.fit`` on the coarse masks (binary cross-entropy), the
validation mask IoU and box IoU measured, the model written to the output folder. An
output folder that already holds a model of the same settings and inputs is reused.
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from dataset.core.errors import UserError
from dataset.core.store import Store
from dataset.images.safe import BadImage, open_image
from training.localiser.composite import composites
from training.localiser.config import LocaliserConfig
from training.localiser.cutouts import IMAGE_SUFFIXES, collect_cutouts
from training.localiser.model import build_localiser

logger = logging.getLogger(__name__)

MODEL_FILE = "localiser.keras"
INFO_FILE = "localiser.json"


def _scene_photos(store: Store, limit: int, size: int) -> list[np.ndarray]:
    """Marketplace photos, reduced, whose borders become scenes (unreadable ones skipped)."""
    import cv2

    keys = sorted(k for k in store.list() if k.lower().endswith(IMAGE_SUFFIXES))
    photos = []
    for key in keys[:: max(1, len(keys) // max(limit, 1))][:limit]:
        try:
            rgb = np.asarray(open_image(store.read_bytes(key), mode="RGB", draft=size))
        except BadImage:
            continue
        photos.append(cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA))
    return photos


def _box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def _box_iou(a: tuple[int, ...] | None, b: tuple[int, ...] | None) -> float:
    if a is None or b is None:
        return 0.0
    w = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return w * h / max(union, 1)


def mask_loss(truth: Any, predicted: Any) -> Any:
    """Binary cross-entropy plus soft Dice: the Dice term keeps small garments from being
    drowned by the background cells."""
    import keras
    from keras import ops

    bce = keras.losses.binary_crossentropy(truth, predicted)
    overlap = ops.sum(truth * predicted, axis=(1, 2, 3))
    total = ops.sum(truth, axis=(1, 2, 3)) + ops.sum(predicted, axis=(1, 2, 3))
    dice = 1.0 - (2.0 * overlap + 1.0) / (total + 1.0)
    return ops.mean(bce, axis=(1, 2)) + dice


def validation_scores(predicted: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Mean mask IoU and mean box IoU of coarse masks (probabilities vs garment shares)."""
    mask_iou, box_iou = [], []
    for p, t in zip(predicted[..., 0] > 0.5, truth[..., 0] > 0.5, strict=True):
        mask_iou.append((p & t).sum() / max((p | t).sum(), 1))
        box_iou.append(_box_iou(_box(p), _box(t)))
    return {"mask_iou": float(np.mean(mask_iou)), "box_iou": float(np.mean(box_iou))}


def _inputs(folder: Store | None) -> str | None:
    if folder is None:
        return None
    count = sum(k.lower().endswith(IMAGE_SUFFIXES) for k in folder.list())
    return f"{folder.uri} ({count} images)"


def fit_localiser(
    config: LocaliserConfig,
    cutouts: Store,
    out: Store,
    *,
    scenes: Store | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Train (or reuse) the localiser on the studio shots in ``cutouts`` (a folder), with
    the borders of the photos in ``scenes`` among its backgrounds; its summary (also
    ``localiser.json`` in ``out``). Reused: same settings, same folders, same image counts."""
    inputs = {"cutouts": _inputs(cutouts), "scenes": _inputs(scenes)}
    fingerprint = config.fingerprint([str(v) for v in inputs.values()])
    if not overwrite and out.exists(INFO_FILE) and out.exists(MODEL_FILE):
        info = out.read_json(INFO_FILE)
        if info.get("fingerprint") == fingerprint:
            logger.info("localiser in %s has the same settings and inputs: reused", out.uri)
            return {**info, "reused": True}
    # Keras only now: a reused model costs no backend start.
    import keras

    started, cpu_started = time.perf_counter(), time.process_time()
    garments, counts = collect_cutouts(cutouts, config.max_cutouts, 2 * config.image_size)
    if not garments:
        raise UserError(f"no usable studio cut-out in {cutouts.uri} ({counts})")
    photos = (
        _scene_photos(scenes, config.max_scenes, config.image_size)
        if scenes is not None and config.max_scenes
        else []
    )
    rng = np.random.default_rng(config.seed)
    train_x, train_y = composites(garments, config.composites, config.image_size, rng, photos)
    val_rng = np.random.default_rng(config.seed + 1_000_003)
    val_x, val_y = composites(garments, config.val_composites, config.image_size, val_rng, photos)
    generated = time.perf_counter() - started

    keras.utils.set_random_seed(config.seed)
    model = build_localiser(config.image_size, config.width)
    steps = config.epochs * -(-config.composites // config.batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(config.learning_rate, steps, alpha=0.05)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=mask_loss)
    fit_started = time.perf_counter()
    history = model.fit(
        train_x, train_y, batch_size=config.batch_size, epochs=config.epochs,
        validation_data=(val_x, val_y), verbose=0, shuffle=True,
    )  # fmt: skip
    trained = time.perf_counter() - fit_started
    scores = validation_scores(np.asarray(model.predict(val_x, verbose=0)), val_y)
    with tempfile.TemporaryDirectory(prefix="localiser-") as tmp:
        path = Path(tmp) / MODEL_FILE
        model.save(path)
        out.upload(path, MODEL_FILE)
    summary: dict[str, Any] = {
        "fingerprint": fingerprint,
        "config": config.model_dump(),
        "inputs": inputs,
        "image_size": config.image_size,
        "cutouts": counts,
        "scene_photos": len(photos),
        "parameters": int(model.count_params()),
        "backend": keras.backend.backend(),
        # Wall seconds of each step, and the CPU seconds of the whole run (all threads):
        # on a shared machine the CPU seconds say what the run costs.
        "seconds": {
            "data": round(generated, 1),
            "fit": round(trained, 1),
            "cpu": round(time.process_time() - cpu_started, 1),
        },  # fmt: skip
        "loss": {k: round(float(v[-1]), 4) for k, v in history.history.items()},
        "val": scores,
        "reused": False,
    }
    out.write_json(INFO_FILE, summary)
    logger.info("localiser written to %s: %s", out.uri_for(MODEL_FILE), scores)
    return summary

"""The garment localiser at segmentation time: photos in, the garment's box out.

The model is trained by ``s2s-train fit-localiser`` (``training/localiser/``) and saved as
a ``.keras`` file; this module only loads and runs it (``dataset`` never imports
``training``). Keras is imported when a localiser is first loaded, not before. Photos
are resized to the model's input side and run in batches of a fixed size (padded), so
the backend compiles one graph; the coarse mask is thresholded and the box drawn around
the regions big enough to be part of the garment (a sleeve cut off by a hand stays in).
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from dataset.core.errors import UserError
from dataset.core.store import Store

Box = tuple[int, int, int, int]

THRESHOLD = 0.5  # garment probability of a mask cell counted as garment
MIN_PART = 0.15  # regions smaller than this share of the largest are clutter, not garment
BATCH = 16  # photos per model call (padded), one compiled graph


class Localiser:
    """A loaded localiser model; ``model_id`` hashes its file (part of the cache key)."""

    def __init__(self, model: Any, model_id: str) -> None:
        self.model = model
        self.model_id = model_id
        self.image_size = int(model.input_shape[1])

    @classmethod
    def from_store(cls, store: Store, key: str) -> Localiser:
        """Load ``key`` (a ``.keras`` file) from ``store``; a missing or broken file is a UserError."""
        if not store.exists(key):
            raise UserError(
                f"segment.localiser: no model at {store.uri_for(key)} (train one with "
                f"`s2s-train fit-localiser`). Received: localiser={key!r}"
            )
        data = store.read_bytes(key)
        with tempfile.TemporaryDirectory(prefix="s2s-localiser-") as tmp:
            path = Path(tmp) / "localiser.keras"
            path.write_bytes(data)
            model = load_model(path, store.uri_for(key))
        return cls(model, hashlib.sha1(data).hexdigest()[:12])

    def boxes(self, photos: list[np.ndarray]) -> list[Box | None]:
        """The garment box of each RGB photo (``None``: nothing found), batched."""
        return [box for box, _probs in self.locate(photos)]

    def locate(self, photos: list[np.ndarray]) -> list[tuple[Box | None, np.ndarray]]:
        """Per RGB photo: the garment box (``None``: nothing found) and the coarse garment
        probabilities (``(side / 4, side / 4)`` for the model's input side), batched."""
        import cv2

        side = self.image_size
        out: list[tuple[Box | None, np.ndarray]] = []
        for start in range(0, len(photos), BATCH):
            chunk = photos[start : start + BATCH]
            batch = np.zeros((BATCH, side, side, 3), np.float32)
            for index, rgb in enumerate(chunk):
                batch[index] = cv2.resize(rgb, (side, side), interpolation=cv2.INTER_AREA)
            probs = np.asarray(self.model.predict_on_batch(batch))[: len(chunk), ..., 0]
            for p, rgb in zip(probs, chunk, strict=True):
                out.append((mask_box(p, rgb.shape[1], rgb.shape[0]), p))
        return out


def load_model(path: Path, name: str) -> Any:
    try:
        import keras
    except ImportError:
        raise UserError(
            f"segment.localiser: {name} needs Keras and a backend (the train and cpu extras); "
            "this installation has none"
        ) from None

    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as exc:  # noqa: BLE001 - format, version and layer errors alike
        message = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise UserError(f"segment.localiser: {name} is not a localiser model ({message})") from None


def mask_box(probs: np.ndarray, width: int, height: int) -> Box | None:
    """Box (in a ``width`` x ``height`` photo) of the garment regions of a coarse mask.

    >>> probs = np.zeros((8, 8)); probs[2:6, 3:5] = 0.9; probs[0, 0] = 0.9
    >>> mask_box(probs, 80, 40)
    (30, 10, 50, 30)
    """
    import cv2

    garment = (probs >= THRESHOLD).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(garment, connectivity=8)
    if count <= 1:
        return None
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.flatnonzero(areas >= MIN_PART * areas.max()) + 1
    ys, xs = np.nonzero(np.isin(labels, keep))
    rows, cols = probs.shape
    return (
        int(xs.min() * width / cols), int(ys.min() * height / rows),
        int(np.ceil((xs.max() + 1) * width / cols)), int(np.ceil((ys.max() + 1) * height / rows)),
    )  # fmt: skip

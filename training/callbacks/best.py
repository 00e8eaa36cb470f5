"""Keep the weights of the best epoch; the best value survives a restart and phases."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import keras

logger = logging.getLogger(__name__)


class BestCheckpoint(keras.callbacks.Callback):
    """Save ``<folder>/best.weights.h5`` when ``monitor`` improves.

    The best value so far is kept in ``best.json`` beside it, so a resumed pod or the
    second fine-tuning phase only overwrites the checkpoint with a better epoch
    (``keras.callbacks.ModelCheckpoint`` forgets it between ``fit`` calls).
    """

    def __init__(self, folder: Path, monitor: str, write: bool = True) -> None:
        super().__init__()
        self.folder = folder
        self.monitor = monitor
        self.mode = "min" if monitor.endswith("loss") else "max"
        self.write = write
        self.weights_path = folder / "best.weights.h5"
        self.state_path = folder / "best.json"
        state = json.loads(self.state_path.read_text()) if self.state_path.is_file() else {}
        self.best: float | None = state.get("value")
        self.best_epoch: int | None = state.get("epoch")

    def _better(self, value: float) -> bool:
        if self.best is None:
            return True
        return value < self.best if self.mode == "min" else value > self.best

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        value = (logs or {}).get(self.monitor)
        if value is None:
            known = sorted(logs or {})
            logger.warning("monitor %r is not logged (logged: %s)", self.monitor, known)
            return
        value = float(value)
        if not math.isfinite(value) or not self._better(value):
            return
        self.best, self.best_epoch = value, epoch + 1
        if self.write:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.model.save_weights(self.weights_path)
            state = {"monitor": self.monitor, "value": value, "epoch": epoch + 1}
            self.state_path.write_text(json.dumps(state))

"""Keep the weights of the best epoch; the best value survives a restart and phases."""

from __future__ import annotations

import json
import logging
import math
import os
import time
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
            # Both files are replaced whole: a worker sharing the folder reads the old or
            # the new checkpoint, never one being written (h5py would find it locked).
            self.folder.mkdir(parents=True, exist_ok=True)
            partial = self.folder / ".best.partial.weights.h5"
            self.model.save_weights(partial)
            os.replace(partial, self.weights_path)
            state = {"monitor": self.monitor, "value": value, "epoch": epoch + 1}
            partial_state = self.folder / ".best.partial.json"
            partial_state.write_text(json.dumps(state))
            os.replace(partial_state, self.state_path)

    def wait_for_writer(self, timeout_s: float = 120.0) -> None:
        """On a worker that does not write: wait until the writer's checkpoint holds the
        best epoch (the logs are all-reduced, so every worker knows which one it is).

        Only where the folder is shared (the checkpoint is visible here at all).
        """
        deadline = time.monotonic() + timeout_s
        while self.best_epoch is not None and self.weights_path.is_file():
            try:
                if json.loads(self.state_path.read_text()).get("epoch") == self.best_epoch:
                    return
            except (OSError, ValueError):
                pass  # not written yet
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.state_path}: epoch {self.best_epoch} never written")
            time.sleep(0.2)

"""Save and load encoders: ``encoder.keras`` + ``encoder.json`` in a folder of a store.

A trained run keeps its encoder in ``<run>/model/``; ``s2s-train export`` adds
``<run>/export/`` (the same two files plus ``saved_model/``). :func:`load_encoder`
accepts the export folder, or a run folder (``export/`` preferred, else ``model/``),
local or ``s3://``. Importing this module registers the custom layer, loss and
schedule, so ``encoder.keras`` loads with Keras' safe mode on.

``encoder.json``: ``tasks`` (``{task: {"kind", "classes"}}``, in output order),
``image_size``, ``backbone``, ``encoder_id`` (hash of the weights, recorded by search
indexes to refuse a mismatch), how it was trained and, for multi-label heads, the
calibrated per-label decision thresholds (``thresholds``: ``{task: {class: t}}``, a label
is present when its probability is >= t; ``calibration`` says on which split they were
chosen; training/calibration.py).
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import training.colour_statistics  # noqa: F401 - registers ColourStatistics
import training.losses  # noqa: F401 - registers WeightedBinaryCrossentropy
import training.optim  # noqa: F401 - registers DecaySchedule
import training.preprocessor  # noqa: F401 - registers ImagePreprocessor
from dataset.core.errors import UserError
from dataset.core.store import Store, open_store
from dataset.taxonomy.tasks import TaskSpec

logger = logging.getLogger(__name__)

MODEL_FILE = "encoder.keras"
META_FILE = "encoder.json"
FOLDERS = ("", "export/", "model/")  # where an encoder may sit under the given URI


@dataclass
class Encoder:
    """A loaded encoder: the Keras model and what ``encoder.json`` says about it."""

    model: Any
    tasks: dict[str, list[str]]
    image_size: int
    encoder_id: str
    backbone: str = ""
    uri: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def thresholds(self) -> dict[str, dict[str, float]]:
        """Calibrated thresholds of the multi-label heads (empty: none recorded)."""
        return {task: dict(v) for task, v in self.meta.get("thresholds", {}).items()}

    def task_specs(self) -> dict[str, TaskSpec]:
        """The tasks whose ``encoder.json`` entry says their kind (older files may not)."""
        raw = self.meta.get("tasks")
        return {
            name: TaskSpec(name, str(raw[name]["kind"]), classes)
            for name, classes in self.tasks.items()
            if isinstance(raw, dict) and isinstance(raw.get(name), dict) and "kind" in raw[name]
        }


def encoder_id(model: Any) -> str:
    """A hash of the weights (order and values): same weights, same id."""
    digest = hashlib.sha256()
    for weight in model.get_weights():
        array = np.ascontiguousarray(weight, dtype=np.float32)
        digest.update(str(array.shape).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()[:16]


def _parse_tasks(raw: Any, where: str) -> dict[str, list[str]]:
    # Tasks as {task: {"classes": [...]}} (ours), {task: [...]} or [task] (older files).
    if isinstance(raw, dict):
        tasks: dict[str, list[str]] = {}
        for name, spec in raw.items():
            classes = spec.get("classes", []) if isinstance(spec, dict) else spec
            tasks[str(name)] = [str(c) for c in (classes or [])]
        return tasks
    if isinstance(raw, list) and raw:
        return {str(name): [] for name in raw}
    raise UserError(f"{where}: key 'tasks' must list the encoder's tasks. Received: {raw!r}")


def encoder_folder(uri: str) -> tuple[Store, str]:
    """The store and key prefix of the folder holding ``encoder.json`` under ``uri``."""
    store = open_store(uri)
    for prefix in FOLDERS:
        if store.exists(prefix + META_FILE):
            return store, prefix
    raise UserError(
        f"{uri}: no {META_FILE} here nor in export/ or model/ (is this a trained encoder?)"
    )


def read_encoder_meta(uri: str) -> dict[str, Any]:
    store, prefix = encoder_folder(uri)
    meta = store.read_json(prefix + META_FILE)
    where = store.uri_for(prefix + META_FILE)
    if not isinstance(meta, dict):
        raise UserError(f"{where}: expected a JSON object. Received: {type(meta).__name__}")
    for key in ("tasks", "image_size", "encoder_id"):
        if key not in meta:
            raise UserError(f"{where}: missing key {key!r}")
    _check_thresholds(meta.get("thresholds", {}), where)
    return meta


def _check_thresholds(raw: Any, where: str) -> None:
    if not isinstance(raw, dict):
        raise UserError(
            f"{where}: key 'thresholds' must map tasks to {{class: t}}. Received: {raw!r}"
        )
    for task, per_label in raw.items():
        if not isinstance(per_label, dict):
            raise UserError(
                f"{where}: thresholds.{task} must map classes to t. Received: {per_label!r}"
            )
        for cls, value in per_label.items():
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not 0 <= value <= 1
            ):
                raise UserError(
                    f"{where}: thresholds.{task}.{cls} must be a number in 0..1. Received: {value!r}"
                )


def load_encoder(uri: str) -> Encoder:
    """The encoder at ``uri`` (export folder or run folder; local or ``s3://``)."""
    import keras

    store, prefix = encoder_folder(uri)
    meta = read_encoder_meta(uri)
    where = store.uri_for(prefix + META_FILE)
    with tempfile.TemporaryDirectory(prefix="s2s-encoder-") as tmp:
        local = store.local_path(prefix + MODEL_FILE)
        if local is None or not local.is_file():
            local = Path(tmp) / MODEL_FILE
            store.download(prefix + MODEL_FILE, local)
        try:
            model = keras.models.load_model(local, compile=False)
        except Exception as exc:  # noqa: BLE001 - any load failure is one line for the user
            raise UserError(f"{store.uri_for(prefix + MODEL_FILE)}: cannot load ({exc})") from exc
    logger.info("loaded encoder %s from %s", meta["encoder_id"], store.uri_for(prefix + META_FILE))
    return Encoder(
        model=model,
        tasks=_parse_tasks(meta["tasks"], where),
        image_size=int(meta["image_size"]),
        encoder_id=str(meta["encoder_id"]),
        backbone=str(meta.get("backbone", "")),
        uri=uri,
        meta=meta,
    )


def save_encoder(model: Any, meta: dict[str, Any], store: Store, prefix: str) -> dict[str, Any]:
    """Write ``encoder.keras`` and ``encoder.json`` (with a fresh ``encoder_id``) under
    ``prefix`` of ``store``; returns the metadata written."""
    meta = {**meta, "encoder_id": encoder_id(model)}
    with tempfile.TemporaryDirectory(prefix="s2s-encoder-") as tmp:
        path = Path(tmp) / MODEL_FILE
        model.save(path)
        store.upload(path, prefix + MODEL_FILE)
    store.write_json(prefix + META_FILE, meta)
    return meta

"""Load an exported encoder (``export/encoder.keras`` + ``export/encoder.json``).

RECONCILE: the training part owns ``training/encoder_io.load_encoder(uri)``; this module
keeps the same name and contract so search works before it lands. Once it is on main,
``load_encoder`` here should delegate to it (see docs/parts/search.md).
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dataset.errors import UserError
from dataset.store import Store, open_store

logger = logging.getLogger(__name__)

MODEL_FILE = "encoder.keras"
META_FILE = "encoder.json"


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


def _parse_tasks(raw: Any, where: str) -> dict[str, list[str]]:
    # encoder.json lists tasks either as {task: {"classes": [...]}}, {task: [...]} or [task].
    if isinstance(raw, dict):
        tasks: dict[str, list[str]] = {}
        for name, spec in raw.items():
            classes = spec.get("classes", []) if isinstance(spec, dict) else spec
            tasks[str(name)] = [str(c) for c in (classes or [])]
        return tasks
    if isinstance(raw, list) and raw:
        return {str(name): [] for name in raw}
    raise UserError(f"{where}: key 'tasks' must list the encoder's tasks. Received: {raw!r}")


def _export_store(uri: str) -> tuple[Store, str]:
    """The store and key prefix of the export folder (``uri`` may be the run folder)."""
    store = open_store(uri)
    if store.exists(META_FILE):
        return store, ""
    if store.exists(f"export/{META_FILE}"):
        return store, "export/"
    raise UserError(f"{uri}: no {META_FILE} here nor in export/ (is this an exported encoder?)")


def read_encoder_meta(uri: str) -> dict[str, Any]:
    store, prefix = _export_store(uri)
    meta = store.read_json(prefix + META_FILE)
    where = store.uri_for(prefix + META_FILE)
    if not isinstance(meta, dict):
        raise UserError(f"{where}: expected a JSON object. Received: {type(meta).__name__}")
    for key in ("tasks", "image_size", "encoder_id"):
        if key not in meta:
            raise UserError(f"{where}: missing key {key!r}")
    return meta


def load_encoder(uri: str) -> Encoder:
    """The encoder exported at ``uri`` (local folder or ``s3://``; export folder or run folder)."""
    import keras

    store, prefix = _export_store(uri)
    meta = read_encoder_meta(uri)
    where = store.uri_for(prefix + META_FILE)
    with tempfile.TemporaryDirectory(prefix="s2s-encoder-") as tmp:
        local = store.local_path(prefix + MODEL_FILE)
        if local is None or not local.is_file():
            local = Path(tmp) / MODEL_FILE
            store.download(prefix + MODEL_FILE, local)
        try:
            # Our own export: it may hold a Lambda for ResNet preprocessing.
            model = keras.models.load_model(local, compile=False, safe_mode=False)
        except Exception as exc:
            raise UserError(f"{store.uri_for(prefix + MODEL_FILE)}: cannot load ({exc})") from exc
    logger.info("loaded encoder %s from %s", meta["encoder_id"], uri)
    return Encoder(
        model=model,
        tasks=_parse_tasks(meta["tasks"], where),
        image_size=int(meta["image_size"]),
        encoder_id=str(meta["encoder_id"]),
        backbone=str(meta.get("backbone", "")),
        uri=uri,
        meta=meta,
    )

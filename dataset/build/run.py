"""``s2s-dataset build``: run the whole dataset pipeline from one config file.

Loads and validates the config, reads the taxonomy, runs the configured stages through
:func:`dataset.pipeline.engine.run_pipeline` (each cached on its inputs) and writes, under
``datasets/<name>/<version>/``, ``summary.json`` (every stage's status, time and
summary) and ``config.yaml`` (the resolved config), beside the stage outputs
(``manifest.parquet``, ``taxonomy.yaml``, ``label_weights.json``, ``report.html``,
``shards/``).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

import dataset.build.stages  # noqa: F401 - registers the stages
from dataset.build.config import BuildConfig, load_config
from dataset.core.errors import UserError
from dataset.core.store import open_store
from dataset.pipeline.engine import run_pipeline
from dataset.taxonomy.tasks import task_specs

logger = logging.getLogger(__name__)


def read_taxonomy(path: Path) -> tuple[str, dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: taxonomy file not found") from None
    try:
        return text, yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML ({exc})".replace("\n", " ")) from None


def build(
    config: str | Path | BuildConfig,
    store_uri: str | None = None,
    *,
    overrides: list[str] | None = None,
    force: bool = False,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Run the pipeline; returns the summary also written as ``summary.json``."""
    cfg = config if isinstance(config, BuildConfig) else load_config(config, overrides)
    uri = store_uri or cfg.store
    if not uri:
        raise UserError(f"{cfg.source}: no store: pass --store or set 'store' in the config")
    store = open_store(uri)
    store.check()
    text, taxonomy = read_taxonomy(cfg.taxonomy)
    specs = task_specs(taxonomy)
    settings = {**cfg.raw, "stages": cfg.stages, "taxonomy_text": text}
    settings["taxonomy_path"] = str(cfg.taxonomy)
    stages = run_pipeline(
        store,
        cfg.prefix,
        cfg.stages,
        cfg.sections,
        settings,
        specs,
        hashlib.sha256(text.encode()).hexdigest(),
        force=force,
        show_progress=show_progress,
    )
    summary = {
        "dataset": cfg.prefix,
        "store": store.uri,
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "stages": stages,
    }
    store.write_text(f"{cfg.prefix}/config.yaml", yaml.safe_dump(cfg.resolved(), sort_keys=False))
    store.write_json(f"{cfg.prefix}/summary.json", summary)
    return summary

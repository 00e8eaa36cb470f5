"""A registry of build stages, run in order, each skipped when its inputs are unchanged.

A stage is a function registered with :func:`stage`: it receives a
:class:`StageContext` (the store, the version folder, its own validated config, the
task specs, the frames and summaries of earlier stages) and returns a
:class:`StageOutput` (a frame, a summary, files). Its fingerprint hashes the stage's
name and code version, its config section, the taxonomy, and the content of its input
files (the outputs of the stages it ``needs``, and any external keys it declares). It
is skipped when ``stages/<name>.json`` holds the same fingerprint and its outputs still
exist. Outputs are written at the end of the stage, each atomically, and the state file
last, so an interrupted stage simply runs again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pandas as pd
from pydantic import BaseModel
from tqdm import tqdm

from dataset.core.errors import UserError
from dataset.core.store import Store
from dataset.taxonomy.tasks import TaskSpec

logger = logging.getLogger(__name__)


@dataclass
class StageOutput:
    frame: pd.DataFrame | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)  # name under the version folder
    written: list[str] = field(default_factory=list)  # keys the stage wrote itself


@dataclass(frozen=True)
class StageDef:
    name: str
    func: Callable[[StageContext], StageOutput]
    config_model: Callable[[], type[BaseModel]] | None  # lazy: other parts import late
    needs: tuple[str, ...]  # earlier stages whose outputs it reads, besides the previous one
    external: Callable[[StageContext], list[str]] | None  # store keys read from outside
    version: int
    own_progress: bool  # the stage's entry function shows its own progress bar
    description: str


REGISTRY: dict[str, StageDef] = {}


def stage(
    name: str,
    *,
    config: Callable[[], type[BaseModel]] | None = None,
    needs: tuple[str, ...] = (),
    external: Callable[[StageContext], list[str]] | None = None,
    version: int = 1,
    own_progress: bool = False,
) -> Callable[[Callable[[StageContext], StageOutput]], Callable[[StageContext], StageOutput]]:
    """Register a stage function under ``name`` (bump ``version`` when its output changes).

    ``config`` returns the stage's pydantic config model (called only when the stage is
    used, so a stage from another part of the package costs nothing until then)."""

    def register(func: Callable[[StageContext], StageOutput]) -> Callable[..., StageOutput]:
        doc = (func.__doc__ or name).strip().splitlines()[0]
        REGISTRY[name] = StageDef(name, func, config, needs, external, version, own_progress, doc)
        return func

    return register


@dataclass
class StageContext:
    store: Store
    prefix: str  # datasets/<name>/<version>
    name: str
    config: Any  # the stage's validated config (a pydantic model) or None
    settings: dict[str, Any]  # the whole build config, for stages reading shared keys
    specs: dict[str, TaskSpec]
    previous: str | None  # the previous frame-producing stage
    show_progress: bool = True
    bar: tqdm | None = None

    def key(self, name: str) -> str:
        return f"{self.prefix}/{name}"

    def frame(self, stage_name: str | None = None) -> pd.DataFrame:
        """The output frame of ``stage_name`` (default: the previous stage)."""
        source = stage_name or self.previous
        if source is None:
            raise UserError(f"stage {self.name!r} needs an input manifest: put a stage before it")
        return self.store.read_parquet(self.key(f"stages/{source}.parquet"))

    def has(self, stage_name: str) -> bool:
        return self.store.exists(self.key(f"stages/{stage_name}.json"))

    def summary(self, stage_name: str) -> dict[str, Any]:
        if not self.has(stage_name):
            return {}
        return dict(self.store.read_json(self.key(f"stages/{stage_name}.json"))["summary"])

    def progress(self, total: int) -> Callable[[int], None]:
        """A callback advancing this stage's progress bar, after setting its total."""
        if self.bar is None:
            return lambda n: None
        self.bar.reset(total=total)
        bar = self.bar
        return lambda n: bar.update(n)


def _digest(store: Store, keys: list[str]) -> dict[str, str]:
    digests = {}
    for key in sorted(keys):
        if not store.exists(key):
            digests[key] = "absent"
        elif key.endswith(".tfrecord"):
            # Shards are large and fully described by their stage's own fingerprint and
            # index.json (hashed by content): their size is enough to notice a swap.
            digests[key] = f"size:{store.size(key)}"
        else:
            digests[key] = hashlib.sha256(store.read_bytes(key)).hexdigest()
    return digests


def _outputs(stage_name: str, out: StageOutput, prefix: str) -> list[str]:
    keys = [f"{prefix}/{name}" for name in out.files] + list(out.written)
    if out.frame is not None:
        keys.append(f"{prefix}/stages/{stage_name}.parquet")
    return keys


def run_pipeline(
    store: Store,
    prefix: str,
    names: list[str],
    configs: dict[str, Any],
    settings: dict[str, Any],
    specs: dict[str, TaskSpec],
    taxonomy_hash: str,
    force: bool = False,
    show_progress: bool = True,
) -> dict[str, dict[str, Any]]:
    """Run ``names`` in order; per stage: ``{"status": "ran"|"cached", "seconds", ...}``."""
    results: dict[str, dict[str, Any]] = {}
    previous: str | None = None
    produced: dict[str, list[str]] = {}  # stage -> output keys
    for name in names:
        definition = REGISTRY[name]
        context = StageContext(
            store, prefix, name, configs.get(name), settings, specs, previous, show_progress
        )
        inputs = [
            key for dep in (*definition.needs, previous) if dep for key in produced.get(dep, [])
        ]
        if definition.external is not None:
            inputs += definition.external(context)
        config = configs.get(name)
        fingerprint = hashlib.sha256(
            json.dumps(
                {
                    "stage": name,
                    "version": definition.version,
                    "config": config.model_dump(mode="json") if config is not None else None,
                    "taxonomy": taxonomy_hash,
                    "inputs": _digest(store, inputs),
                },
                sort_keys=True,
            ).encode()
        ).hexdigest()
        state_key = f"{prefix}/stages/{name}.json"
        state = store.read_json(state_key) if store.exists(state_key) else None
        started = time.monotonic()
        if (
            not force
            and state is not None
            and state.get("fingerprint") == fingerprint
            and all(store.exists(key) for key in state.get("outputs", []))
        ):
            logger.info("stage %s: inputs unchanged, skipped", name)
            results[name] = {"status": "cached", "seconds": 0.0, "summary": state["summary"]}
            outputs = list(state["outputs"])
        else:
            hide = definition.own_progress or not show_progress
            with tqdm(desc=f"{name:>9}", unit="item", disable=hide, leave=True) as bar:
                context.bar = bar
                out = definition.func(context)
                if bar.total is None:  # a stage without items still shows it finished
                    bar.reset(total=1)
                    bar.update(1)
            if out.frame is not None:
                store.write_parquet(f"{prefix}/stages/{name}.parquet", out.frame)
            for filename, data in out.files.items():
                store.write_bytes(f"{prefix}/{filename}", data)
            outputs = _outputs(name, out, prefix)
            store.write_json(
                state_key,
                {
                    "fingerprint": fingerprint,
                    "outputs": outputs,
                    "summary": out.summary,
                    "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                },
            )
            results[name] = {
                "status": "ran",
                "seconds": round(time.monotonic() - started, 3),
                "summary": out.summary,
            }
        produced[name] = outputs
        if any(key.endswith(f"stages/{name}.parquet") for key in outputs):
            previous = name
    return results

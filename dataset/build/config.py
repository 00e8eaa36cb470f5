"""The ``dataset.yaml`` of ``s2s-dataset build``: validated once, errors name file and key.

Top level: ``name``, ``version`` (the output folder ``datasets/<name>/<version>/``),
``store`` (optional, ``--store`` wins), ``taxonomy`` (a YAML file, relative to the config
file; default the packaged house taxonomy), ``stages`` (the stage names, in order) and
one section per stage, validated by that stage's own config model.

>>> cfg = parse_config({"name": "demo", "version": "v1", "stages": ["load"],
...                     "load": {"manifest": "m.parquet"}}, "demo.yaml")
>>> cfg.sections["load"].manifest
'm.parquet'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

import dataset.build.stages  # noqa: F401 - registers the stages
from dataset.core.errors import UserError
from dataset.pipeline.engine import REGISTRY
from dataset.taxonomy.schema import HOUSE_TAXONOMY

DEFAULT_STAGES = [
    "map",
    "merge",
    "check",
    "dedup",
    "segment",
    "split",
    "rebalance",
    "weights",
    "export",
    "report",
]
DEFAULT_TAXONOMY = HOUSE_TAXONOMY


class TopLevel(BaseModel):
    model_config = ConfigDict(extra="allow")  # stage sections, checked against the registry

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    version: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    store: str | None = None
    taxonomy: str | None = None
    stages: list[str] = Field(default_factory=lambda: list(DEFAULT_STAGES))


@dataclass
class BuildConfig:
    name: str
    version: str
    store: str | None
    taxonomy: Path
    stages: list[str]
    sections: dict[str, Any]  # stage name -> validated config model
    source: str  # the file it came from, for messages
    raw: dict[str, Any]

    @property
    def prefix(self) -> str:
        return f"datasets/{self.name}/{self.version}"

    def resolved(self) -> dict[str, Any]:
        """The config with every default filled in (written next to the outputs)."""
        return {
            "name": self.name,
            "version": self.version,
            "taxonomy": str(self.taxonomy),
            "stages": list(self.stages),
            **{name: model.model_dump(mode="json") for name, model in self.sections.items()},
        }


def _describe(source: str, error: ValidationError, section: str | None = None) -> str:
    first = error.errors()[0]
    path = ".".join(str(p) for p in ((section,) if section else ()) + tuple(first["loc"]))
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    received = first.get("input")
    got = "" if first["type"] == "missing" else f" (got {received!r})"
    more = f" (+{len(error.errors()) - 1} more)" if len(error.errors()) > 1 else ""
    return f"{source}: {path or '<top>'}: {message}{got}{more}"


def parse_config(raw: Any, source: str, base: Path | None = None) -> BuildConfig:
    if not isinstance(raw, dict):
        raise UserError(f"{source}: expected a mapping at the top, got {type(raw).__name__}")
    try:
        top = TopLevel.model_validate(raw)
    except ValidationError as exc:
        raise UserError(_describe(source, exc)) from None
    for name in top.stages:
        if name not in REGISTRY:
            known = ", ".join(sorted(REGISTRY))
            raise UserError(f"{source}: stages: unknown stage {name!r} (known: {known})")
    if len(set(top.stages)) != len(top.stages):
        raise UserError(f"{source}: stages: a stage is listed twice (got {top.stages})")
    sections: dict[str, Any] = {}
    for key, value in (top.model_extra or {}).items():
        if key not in REGISTRY:
            raise UserError(f"{source}: {key}: unknown key (got {value!r})")
    for name in top.stages:
        factory = REGISTRY[name].config_model
        if factory is None:
            continue
        body = raw.get(name) or {}
        if not isinstance(body, dict):
            raise UserError(f"{source}: {name}: expected a mapping (got {body!r})")
        try:
            model = factory()
        except (ImportError, AttributeError) as exc:
            raise UserError(f"{source}: stages: stage {name!r} is not available ({exc})") from None
        try:
            sections[name] = model.model_validate(body)
        except ValidationError as exc:
            raise UserError(_describe(source, exc, name)) from None
    taxonomy = Path(top.taxonomy) if top.taxonomy else DEFAULT_TAXONOMY
    if top.taxonomy and not taxonomy.is_absolute() and base is not None:
        taxonomy = base / taxonomy
    return BuildConfig(
        top.name, top.version, top.store, taxonomy, top.stages, sections, source, raw
    )


def load_config(path: str | Path, overrides: list[str] | None = None) -> BuildConfig:
    """Read and validate a build config; ``overrides`` are ``a.b=value`` YAML snippets."""
    file = Path(path)
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{file}: config file not found") from None
    except yaml.YAMLError as exc:
        raise UserError(f"{file}: not valid YAML ({exc})".replace("\n", " ")) from None
    for override in overrides or []:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)=(.*)", override)
        if not match:
            raise UserError(f"--set {override!r}: expected KEY.PATH=VALUE")
        target = raw
        *parents, leaf = match.group(1).split(".")
        for part in parents:
            target = target.setdefault(part, {})
        try:
            target[leaf] = yaml.safe_load(match.group(2))
        except yaml.YAMLError:
            raise UserError(f"--set {override!r}: the value is not valid YAML") from None
    return parse_config(raw, str(file), base=file.parent)

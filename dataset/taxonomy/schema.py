"""The house taxonomy: tasks, their kind and their classes, loaded from a versioned YAML file.

The taxonomy is data (``dataset/taxonomy/house.yaml``): adding a class is adding a line
there, never a code change. Class order is the order of the encoders' outputs.

>>> tax = load_taxonomy()
>>> tax.tasks["type"].kind, tax.tasks["colour"].index("white")
('single_label', 2)
>>> tax.tasks["colour"].ids[:3]
['orange', 'yellow', 'white']
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from dataset.core.errors import UserError
from dataset.core.yamlio import load_yaml, pydantic_error

HOUSE_TAXONOMY = Path(__file__).with_name("house.yaml")


class TaxonomyClass(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    fr: str

    @field_validator("id")
    @classmethod
    def _plain_id(cls, value: str) -> str:
        if not value or value != value.strip().lower() or " " in value:
            raise ValueError("class ids are lowercase words without spaces (e.g. jackets-coats)")
        return value


class Task(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["multi_label", "single_label"]
    classes: list[TaxonomyClass]

    @field_validator("classes")
    @classmethod
    def _unique_ids(cls, value: list[TaxonomyClass]) -> list[TaxonomyClass]:
        if not value:
            raise ValueError("a task needs at least one class")
        seen: set[str] = set()
        for item in value:
            if item.id in seen:
                raise ValueError(f"class id {item.id!r} is listed twice")
            seen.add(item.id)
        return value

    @property
    def ids(self) -> list[str]:
        """Class ids in output order."""
        return [item.id for item in self.classes]

    @property
    def multi_label(self) -> bool:
        return self.kind == "multi_label"

    def index(self, label: str) -> int:
        """Position of ``label`` in the task's outputs; :class:`UserError` if unknown."""
        try:
            return self.ids.index(label)
        except ValueError:
            raise UserError(
                f"unknown class {label!r}; valid classes: {', '.join(self.ids)}"
            ) from None

    def __contains__(self, label: object) -> bool:
        return label in self.ids


class Taxonomy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int | str
    tasks: dict[str, Task]

    @model_validator(mode="after")
    def _has_tasks(self) -> Taxonomy:
        if not self.tasks:
            raise ValueError("tasks: at least one task is needed")
        return self

    @property
    def task_names(self) -> list[str]:
        return list(self.tasks)

    def task(self, name: str) -> Task:
        """The task ``name``; :class:`UserError` listing the known tasks if it does not exist."""
        try:
            return self.tasks[name]
        except KeyError:
            raise UserError(
                f"unknown task {name!r}; the taxonomy has: {', '.join(self.tasks)}"
            ) from None

    def to_yaml(self) -> str:
        """The taxonomy as YAML, to save beside a dataset built with it."""
        import yaml

        return yaml.safe_dump(self.model_dump(), sort_keys=False, allow_unicode=True)


def parse_taxonomy(text: str, source: str) -> Taxonomy:
    """A :class:`Taxonomy` from YAML text; errors name ``source``, the key and the value."""
    data = load_yaml(text, source)
    if not isinstance(data, dict):
        raise UserError(f"{source}: a taxonomy is a mapping with 'version' and 'tasks'")
    try:
        return Taxonomy.model_validate(data)
    except ValidationError as exc:
        raise pydantic_error(source, exc, data) from None


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Load a taxonomy file (default: the house taxonomy shipped with the package)."""
    path = Path(path) if path is not None else HOUSE_TAXONOMY
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such taxonomy file") from None
    return parse_taxonomy(text, str(path))

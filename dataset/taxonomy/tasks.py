"""The tasks of a taxonomy as the build stages need them: name, kind, ordered classes.

The taxonomy file itself (``dataset/taxonomy/house.yaml``) belongs to the label-mapping
part; this module only reads the parts every later stage needs, and accepts classes
written as a list of ids, a list of ``{id: ...}`` mappings or a mapping keyed by id.

>>> specs = task_specs({"tasks": {"type": {"kind": "single_label", "classes": ["a", "b"]}}})
>>> specs["type"].single, specs["type"].classes
(True, ['a', 'b'])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dataset.core.errors import UserError


@dataclass(frozen=True)
class TaskSpec:
    name: str
    kind: str  # "single_label" or "multi_label" (any spelling starting "single"/"multi")
    classes: list[str]

    @property
    def single(self) -> bool:
        return self.kind.startswith("single")

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "classes": list(self.classes)}


def _class_ids(task: str, raw: Any) -> list[str]:
    if isinstance(raw, dict):
        return [str(key) for key in raw]
    if isinstance(raw, list):
        ids = []
        for entry in raw:
            if isinstance(entry, dict) and "id" in entry:
                ids.append(str(entry["id"]))
            elif isinstance(entry, str):
                ids.append(entry)
            else:
                raise UserError(f"taxonomy: task {task!r} has a class entry {entry!r}")
        return ids
    raise UserError(f"taxonomy: task {task!r} classes must be a list or mapping, got {raw!r}")


def task_specs(taxonomy: dict[str, Any]) -> dict[str, TaskSpec]:
    """The tasks of a parsed taxonomy document, in file order."""
    tasks = taxonomy.get("tasks") if isinstance(taxonomy, dict) else None
    if not isinstance(tasks, dict) or not tasks:
        raise UserError("taxonomy: no 'tasks' mapping found")
    specs = {}
    for name, body in tasks.items():
        if not isinstance(body, dict) or "classes" not in body:
            raise UserError(f"taxonomy: task {name!r} has no 'classes'")
        kind = str(body.get("kind", "multi_label"))  # kept as spelled: index.json repeats it
        specs[str(name)] = TaskSpec(str(name), kind, _class_ids(str(name), body["classes"]))
    return specs

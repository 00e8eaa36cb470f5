"""The house code table: catalogue ids and product types -> taxonomy labels.

The retailer's catalogue export labels products with numeric ids (colour ids, material
ids, a gender id) and fine product types (``blouson``, ``trench``, ``perfecto``). The code
table, a YAML file beside the export, says what each one means in the taxonomy::

    version: 3
    colour: {1: orange, 9: blue, 17: white, 23: ignore}
    material: {1: cotton, 4: [cotton, elastane]}
    gender: {1: women, 2: men, 7: [men, women]}
    type: {blouson: jackets-coats, trench: jackets-coats, perfecto: jackets-coats}

Keys are ids (compared as text: ``9`` and ``"9"`` are the same) or, for ``type``, product
type names (normalised like marketplace words). Labels are checked against the taxonomy;
errors name the file and line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dataset.core.errors import UserError
from dataset.core.yamlio import LineDict, load_yaml
from dataset.mapping.normalise import normalise
from dataset.mapping.tables import parse_labels
from dataset.taxonomy.schema import Taxonomy

TYPE_TASK = "type"


def code_key(task: str, code: object) -> str:
    """The comparable form of a code: ids as plain text (``9.0`` -> ``9``), types normalised."""
    text = str(code).strip()
    if task == TYPE_TASK:
        return normalise(text)
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]
    return text


@dataclass
class CodeTable:
    """Per task, code -> house labels (empty tuple: deliberately ignored)."""

    source: str
    version: object = None
    codes: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)

    def lookup(self, task: str, code: object) -> tuple[str, ...] | None:
        return self.codes.get(task, {}).get(code_key(task, code))


def parse_codes(text: str, source: str, taxonomy: Taxonomy) -> CodeTable:
    """A :class:`CodeTable` from YAML text named ``source`` in errors."""
    data = load_yaml(text, source)
    if not isinstance(data, LineDict):
        raise UserError(f"{source}: a code table is a mapping of task -> {{code: label}}")
    unknown = [key for key in data if key != "version" and key not in taxonomy.tasks]
    if unknown:
        raise UserError(
            f"{source}:{data.lines[unknown[0]]}: unknown task {unknown[0]!r}; "
            f"expected 'version' and tasks: {', '.join(taxonomy.tasks)}"
        )
    table = CodeTable(source, data.get("version"))
    for task_name, task in taxonomy.tasks.items():
        section = data.get(task_name)
        if section is None:
            continue
        if not isinstance(section, LineDict):
            raise UserError(
                f"{source}:{data.lines[task_name]}: {task_name} is a mapping code -> label(s). "
                f"Received: {section!r}"
            )
        codes: dict[str, tuple[str, ...]] = {}
        for code, target in section.items():
            where = f"{source}:{section.lines[code]}"
            key = code_key(task_name, code)
            if key in codes:
                raise UserError(f"{where}: code {code!r} is defined twice ({key!r})")
            codes[key] = parse_labels(target, task_name, task, where, str(code))
        table.codes[task_name] = codes
    return table

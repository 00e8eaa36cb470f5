"""Mapping tables: hand-edited YAML, one file per marketplace and task, raw value -> house labels.

``dataset/mapping/sites/<site>/<task>.yaml``::

    # Colours as the demo marketplace writes them -> house colour ids.
    extends: [_common]        # load _common/colour.yaml first (the default when omitted)
    values:
      Kaki: green
      Moutarde: yellow
      Bleu marine: blue
      Kaki moutarde: [green, yellow]   # one raw value, several house labels
      Multicolore: ignore              # seen, deliberately mapped to nothing

Keys are normalised like the raw values (:func:`dataset.normalise.normalise`), so write
them as the site shows them. A duplicate key, two spellings of one word mapped to
different labels, or a label that is not in the taxonomy is an error naming the file and
line; every such line of every table is listed in one error, so one edit fixes them all.

Safe defaults: a site without a table file for a task uses the shared table
(``_common/<task>.yaml``) as it is, and a site table without ``extends`` extends
``_common``; ``extends: []`` opts out. A site entry that contradicts an extended table is
allowed (the site wins) and kept in :attr:`MappingTable.overrides`, which ``map`` and
``unmapped`` print, one line each.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dataset.core.errors import UserError
from dataset.core.yamlio import LineDict, load_yaml_file
from dataset.mapping.normalise import normalise
from dataset.taxonomy.schema import Task, Taxonomy

MAPPINGS_ROOT = Path(__file__).with_name("sites")
COMMON = "_common"  # the shared French and English tables every site extends by default
IGNORE = "ignore"
UNRESOLVED = "???"  # what `unmapped` prints when it has no trustworthy suggestion
_TOP_KEYS = {"extends", "values"}


@dataclass(frozen=True)
class Entry:
    """One table row: the house labels of a normalised raw value and where it was written."""

    labels: tuple[str, ...]
    raw: str
    source: str  # "path:line"

    @property
    def ignored(self) -> bool:
        return not self.labels

    @property
    def label_text(self) -> str:
        return ", ".join(self.labels) if self.labels else IGNORE


@dataclass(frozen=True)
class Override:
    """A site entry that maps a word of an extended (shared) table to other labels."""

    own: Entry
    shared: Entry

    def describe(self) -> str:
        return (
            f"{self.own.source}: {self.own.raw!r} -> {self.own.label_text} overrides "
            f"{self.shared.source}: {self.shared.raw!r} -> {self.shared.label_text}"
        )


@dataclass
class MappingTable:
    """The resolved table of one task for one site (extended tables merged in)."""

    task: str
    files: list[str] = field(default_factory=list)
    entries: dict[str, Entry] = field(default_factory=dict)
    overrides: list[Override] = field(default_factory=list)

    def get(self, key: str) -> Entry | None:
        return self.entries.get(key)


def parse_labels(
    value: object, task_name: str, task: Task, where: str, raw: str
) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(item, str) and item.strip() for item in items):
        raise UserError(
            f"{where}: {raw!r} must map to a house label, a list of them or 'ignore'. "
            f"Received: {value!r}"
        )
    labels = tuple(dict.fromkeys(str(item).strip() for item in items))
    if UNRESOLVED in labels:
        raise UserError(
            f"{where}: {raw!r} still reads {UNRESOLVED!r}: write a house label, a list of "
            f"them or 'ignore' (valid: {', '.join(task.ids)})"
        )
    if labels == (IGNORE,):
        return ()
    for label in labels:
        if label not in task:
            raise UserError(
                f"{where}: {raw!r} maps to {label!r}, which is not a {task_name} class; "
                f"valid classes: {', '.join(task.ids)} (or 'ignore')"
            )
    if len(labels) > 1 and not task.multi_label:
        raise UserError(
            f"{where}: {raw!r} maps to {list(labels)} but {task_name} is single-label: "
            "give one label"
        )
    return labels


def _read_file(
    path: Path, task_name: str, task: Task, problems: list[str]
) -> tuple[list[str] | None, dict[str, Entry]]:
    """``(extends or None when the key is absent, entries)``; bad rows go to ``problems``."""
    data = load_yaml_file(path)
    if data is None:
        return None, {}
    if not isinstance(data, LineDict) or not set(data) <= _TOP_KEYS:
        unknown = sorted(set(data) - _TOP_KEYS) if isinstance(data, dict) else data
        raise UserError(
            f"{path}: a mapping table has the keys 'extends' and 'values'. Received: {unknown!r}"
        )
    extends = data.get("extends") if "extends" in data else None
    if isinstance(extends, str):
        extends = [extends]
    if extends is not None and (
        not isinstance(extends, list) or not all(isinstance(item, str) for item in extends)
    ):
        raise UserError(
            f"{path}:{data.lines['extends']}: extends is a list of table folders. "
            f"Received: {extends!r}"
        )
    values = data.get("values") or LineDict()
    if not isinstance(values, LineDict):
        raise UserError(
            f"{path}:{data.lines['values']}: values is a mapping raw value -> label(s). "
            f"Received: {type(values).__name__}"
        )
    entries: dict[str, Entry] = {}
    for raw, target in values.items():
        where = f"{path}:{values.lines[raw]}"
        key = normalise(str(raw))
        try:
            if not key:
                raise UserError(f"{where}: {raw!r} is empty once normalised; remove it")
            entry = Entry(parse_labels(target, task_name, task, where, str(raw)), str(raw), where)
            previous = entries.get(key)
            if previous is not None and previous.labels != entry.labels:
                raise UserError(
                    f"{where}: {raw!r} and {previous.raw!r} ({previous.source}) are the same "
                    f"word once normalised ({key!r}) but map to different labels"
                )
        except UserError as exc:
            problems.append(str(exc))
            continue
        entries[key] = entry
    return extends, entries


def _raise_problems(problems: list[str]) -> None:
    if len(problems) == 1:
        raise UserError(problems[0])
    if problems:
        raise UserError(f"{len(problems)} mapping table lines to fix: " + " | ".join(problems))


def _load_table(
    site: str, task_name: str, taxonomy: Taxonomy, root: Path, problems: list[str]
) -> MappingTable:
    task = taxonomy.task(task_name)
    table = MappingTable(task_name)
    path = root / site / f"{task_name}.yaml"
    common_path = root / COMMON / f"{task_name}.yaml"
    if path.is_file():
        extends, own = _read_file(path, task_name, task, problems)
    else:
        extends, own = None, {}
    if extends is None:  # the safe default: the shared words, when they exist
        extends = [COMMON] if site != COMMON and common_path.is_file() else []
    for parent in extends:
        parent_path = root / parent / f"{task_name}.yaml"
        if not parent_path.is_file():
            raise UserError(f"{path}: extends {parent!r} but {parent_path} does not exist")
        _, inherited = _read_file(parent_path, task_name, task, problems)
        table.entries.update(inherited)
        table.files.append(str(parent_path))
    for key, entry in own.items():
        shared = table.entries.get(key)
        if shared is not None and shared.labels != entry.labels:
            table.overrides.append(Override(entry, shared))
    table.entries.update(own)  # the site's own words win over the shared tables
    if path.is_file():
        table.files.append(str(path))
    return table


def load_table(
    site: str, task_name: str, taxonomy: Taxonomy, root: str | Path | None = None
) -> MappingTable:
    """The table of ``task_name`` for ``site`` under ``root`` (default: the shipped tables)."""
    problems: list[str] = []
    table = _load_table(site, task_name, taxonomy, _root(root), problems)
    _raise_problems(problems)
    return table


def _root(root: str | Path | None) -> Path:
    return Path(root) if root is not None else MAPPINGS_ROOT


def load_tables(
    site: str, taxonomy: Taxonomy, root: str | Path | None = None
) -> dict[str, MappingTable]:
    """One :class:`MappingTable` per taxonomy task for ``site``."""
    check_site_name(site)
    problems: list[str] = []
    tables = {
        name: _load_table(site, name, taxonomy, _root(root), problems) for name in taxonomy.tasks
    }
    _raise_problems(problems)
    return tables


def check_site_name(site: str) -> None:
    if not site or "/" in site or site.startswith((".", "_")):
        raise UserError(f"invalid site name {site!r}")

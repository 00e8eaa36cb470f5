"""Strict YAML reading for hand-edited configuration: duplicate keys are errors, lines are kept.

PyYAML silently keeps the last of two equal keys, so a maintainer who adds ``kaki: green``
below an older ``kaki: brown`` would never learn which one won. :func:`load_yaml` refuses
that, naming the file and both lines, and returns mappings as :class:`LineDict` so later
checks (an unknown class, say) can point at the line that holds the bad value.

>>> data = load_yaml("a: 1\\nb: [x, y]\\n", "inline.yaml")
>>> data["b"], data.lines["b"]
(['x', 'y'], 2)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from dataset.core.errors import UserError


class LineDict(dict[Any, Any]):
    """A dict that remembers the 1-based line of each key in the YAML file it came from."""

    lines: dict[Any, int]

    def __init__(self) -> None:
        super().__init__()
        self.lines = {}


class _StrictLoader(yaml.SafeLoader):
    source = "<yaml>"

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> LineDict:  # type: ignore[override]
        self.flatten_mapping(node)
        mapping = LineDict()
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str | int | float | bool) and key is not None:
                raise UserError(f"{self.source}:{line}: mapping keys must be plain values")
            if key in mapping:
                raise UserError(
                    f"{self.source}:{line}: duplicate key {key!r} "
                    f"(first defined on line {mapping.lines[key]}); keep one of them"
                )
            mapping[key] = self.construct_object(value_node, deep=deep)
            mapping.lines[key] = line
        return mapping


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _StrictLoader.construct_mapping,  # type: ignore[arg-type]
)


def load_yaml(text: str, source: str) -> Any:
    """Parse ``text`` (named ``source`` in errors) refusing duplicate keys anywhere."""
    loader = _StrictLoader(text)
    loader.source = source
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc)
        raise UserError(f"{where}: not valid YAML ({problem})") from None
    finally:
        loader.dispose()


def load_yaml_file(path: str | Path) -> Any:
    """:func:`load_yaml` on a local file; a missing file is a :class:`UserError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    return load_yaml(text, str(path))


def pydantic_error(source: str, exc: Any, data: Any = None) -> UserError:
    """One-line :class:`UserError` from a pydantic ``ValidationError``: file, key, received."""
    first = exc.errors()[0]
    loc = first.get("loc", ())
    key = ".".join(str(part) for part in loc) or "<top>"
    where = source
    if isinstance(data, LineDict) and loc and loc[0] in data.lines:
        where = f"{source}:{data.lines[loc[0]]}"
    received = first.get("input")
    return UserError(f"{where}: {key}: {first.get('msg')}. Received: {received!r}")

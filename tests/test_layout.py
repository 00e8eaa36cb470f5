"""The package layout of docs/architecture.md: rooms, their import direction, no circles.

Imports are read from the source (``ast``), lazy ones inside functions and
``TYPE_CHECKING`` blocks included, so a circle cannot hide behind a deferred import.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("crawler", "dataset", "training")

# docs/architecture.md, "Rooms of dataset/": a room imports its own modules and rooms of
# a lower level only.
DATASET_LEVELS = {
    "core": 0,
    "taxonomy": 1,
    "images": 1,
    "synthetic": 1,
    "mapping": 2,
    "dedup": 2,
    "segmentation": 2,
    "split": 2,
    "shards": 2,
    "pipeline": 2,
    "catalogue": 3,
    "report": 3,
    "build": 4,
    "commands": 5,
    "cli": 5,
    "__main__": 6,
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    return {
        module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def imported(path: Path, name: str, known: set[str]) -> Iterator[str]:
    """The project modules that ``path`` imports (a ``from X import y`` of a submodule counts y)."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")[: len(name.split(".")) - node.level + is_package]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            targets = [f"{stem}.{alias.name}" for alias in node.names] + [stem]
        else:
            continue
        for target in targets:
            # the longest known prefix: "dataset.core.store.open_store" -> "dataset.core.store"
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                yield target


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    known = set(modules)
    return {name: set(imported(path, name, known)) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), package parents ignored."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def edges(node: str) -> set[str]:
        # Importing a submodule imports its package's __init__ too; that edge is Python's,
        # not a dependency of the code, so only edges to non-ancestors count.
        return {t for t in graph[node] if not node.startswith(t + ".")}

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges(node):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def room(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "dataset" and len(parts) > 1 else None


def test_no_import_circle() -> None:
    assert cycles(import_graph()) == []


def test_cycle_finder_finds_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_every_dataset_module_lives_in_a_room() -> None:
    loose = sorted(p.name for p in (ROOT / "dataset").glob("*.py"))
    assert loose == ["__init__.py", "__main__.py", "cli.py"]
    rooms = sorted(
        p.name for p in (ROOT / "dataset").iterdir() if p.is_dir() and (p / "__init__.py").exists()
    )
    assert rooms == sorted(set(DATASET_LEVELS) - {"cli", "__main__"})


def test_dataset_rooms_import_downwards_only() -> None:
    upward = []
    for module, targets in import_graph().items():
        source = room(module)
        if module.startswith(("crawler", "training")):
            continue
        for target in targets:
            assert not target.startswith(("crawler", "training")), f"{module} imports {target}"
            destination = room(target)
            if source is None or destination is None or destination == source:
                continue
            if DATASET_LEVELS[destination] >= DATASET_LEVELS[source]:
                upward.append(f"{module} -> {target}")
    assert upward == []

"""Label suggestions on a brand-new marketplace: the project vs main before issue 14.

For each vocabulary in tests/vocabulary/ (``tuned.yaml``: the words the suggester was
tuned on; ``heldout*.yaml``: each written after the code was frozen, first run once
committed), every raw value is looked up as on a new site with no table of its own
and, when no table covers it, suggested a label. Compared side by side in one run:

- project: the shared ``_common`` tables by default, then :class:`Suggester` (confidence:
  ``high`` / ``low`` / ``none`` = ``???``);
- baseline: main before issue 14 (``dataset/mapping/suggest.py`` and
  ``colour_names.csv`` of commit 726eb2c, read with ``git show``) on a new site, which had
  no table at all; and the same suggester with ``extends: [_common]``.

"Without a human" counts values mapped by a table or by a confident suggestion (the
baseline printed no confidence: only its tables count). "Accept all" pastes every
printed label, as the issue did. A value is right when its labels are one of the answers
the vocabulary file accepts; ``???`` is never wrong, only left for a person.

    PYTHONPATH=. python bench/suggest_bench.py
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from benchkit import header, table  # noqa: E402

from dataset.mapping.mapper import resolve  # noqa: E402
from dataset.mapping.normalise import normalise  # noqa: E402
from dataset.mapping.suggest import Suggester, slug_words  # noqa: E402
from dataset.mapping.tables import COMMON, MappingTable, load_table, load_tables  # noqa: E402
from dataset.taxonomy.schema import Taxonomy, load_taxonomy  # noqa: E402

BASELINE_COMMIT = "726eb2c"  # main before issue 14
VOCABULARIES = ("tuned.yaml", "heldout.yaml", "heldout2.yaml", "heldout3.yaml", "heldout4.yaml")
TASKS = {"colour": "colour", "material": "material", "gender": "gender", "category": "type"}
NEW_SITE = "newshop"  # a site with no folder under dataset/mapping/sites/

# One value's outcome: (source, labels) with source "table", "high", "low", "none" or
# "printed" (the baseline's suggestions), labels None for '???'.
Outcome = tuple[str, frozenset[str] | None]


def baseline_module(workdir: Path) -> ModuleType:
    """main's suggest.py before issue 14, beside its own colour_names.csv."""
    for name in ("suggest.py", "colour_names.csv"):
        text = subprocess.run(
            ["git", "show", f"{BASELINE_COMMIT}:dataset/mapping/{name}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        (workdir / name).write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("suggest_before_14", workdir / "suggest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def acceptable(answers: list[Any]) -> set[frozenset[str]]:
    return {
        frozenset() if a == "ignore" else frozenset(a if isinstance(a, list) else [a])
        for a in answers
    }


def project(taxonomy: Taxonomy) -> Callable[[str, str], Outcome]:
    tables = load_tables(NEW_SITE, taxonomy)
    in_slugs = slug_words(tables)
    suggesters = {
        task: Suggester(
            task,
            taxonomy.tasks[task],
            tables[task],
            load_table(COMMON, task, taxonomy),
            in_slugs,
        )
        for task in taxonomy.tasks
    }

    def outcome(task: str, raw: str) -> Outcome:
        labels, missing = resolve(raw, tables[task], split=taxonomy.tasks[task].multi_label)
        if not missing:
            return "table", frozenset(labels)
        hint = suggesters[task].suggest(normalise(raw))
        return hint.confidence, None if hint.labels is None else frozenset(hint.labels)

    return outcome


def baseline(
    taxonomy: Taxonomy, module: ModuleType, tables: dict[str, MappingTable]
) -> Callable[[str, str], Outcome]:
    def outcome(task: str, raw: str) -> Outcome:
        labels, missing = resolve(raw, tables[task], split=taxonomy.tasks[task].multi_label)
        if not missing:
            return "table", frozenset(labels)
        hint = module.suggest(normalise(raw), task, taxonomy.tasks[task], tables[task])
        return "printed", None if hint is None else frozenset(hint.labels)

    return outcome


def measure(outcome: Callable[[str, str], Outcome], vocabulary: dict[str, Any]) -> list[object]:
    faux = {normalise(raw) for raw in vocabulary["faux"]}
    counts = dict.fromkeys(("values", "table", "auto", "auto_wrong", "pasted_wrong", "faux"), 0)
    started = time.perf_counter()
    for field, task in TASKS.items():
        for raw, answers in vocabulary[field].items():
            source, labels = outcome(task, raw)
            right = labels is None or labels in acceptable(answers)
            counts["values"] += 1
            counts["table"] += source == "table"
            automatic = source in ("table", "high") and labels is not None
            counts["auto"] += automatic
            counts["auto_wrong"] += automatic and not right
            counts["pasted_wrong"] += labels is not None and source != "none" and not right
            counts["faux"] += bool(normalise(raw) in faux and labels and labels - {"other"})
    elapsed = time.perf_counter() - started
    n = counts["values"]
    return [
        n,
        f"{counts['table'] / n:.1%}",
        f"{counts['auto'] / n:.1%}",
        counts["auto_wrong"],
        counts["pasted_wrong"],
        counts["faux"],
        f"{elapsed * 1000 / n:.2f}",
    ]


def main() -> int:
    taxonomy = load_taxonomy()
    empty = {task: MappingTable(task) for task in taxonomy.tasks}
    common = {task: load_table(COMMON, task, taxonomy) for task in taxonomy.tasks}
    with tempfile.TemporaryDirectory() as workdir:
        old = baseline_module(Path(workdir))
        methods = {
            "project: `_common` by default + `Suggester`": project(taxonomy),
            f"baseline: main {BASELINE_COMMIT}, new site (no tables)": baseline(
                taxonomy, old, empty
            ),
            f"baseline: main {BASELINE_COMMIT} + `extends: [_common]`": baseline(
                taxonomy, old, common
            ),
        }
        rows = []
        for name in VOCABULARIES:
            path = ROOT / "tests" / "vocabulary" / name
            vocabulary = yaml.safe_load(path.read_text(encoding="utf-8"))
            for method, outcome in methods.items():
                rows.append([name, method, *measure(outcome, vocabulary)])
    header(
        "Label suggestions on a new marketplace (issue 14)",
        "raw colour, material, gender and category values of tests/vocabulary/*.yaml with "
        "the labels a person accepts; tuned.yaml was tuned on, heldout*.yaml never were. "
        "Targets: 0 wrong without a human, faux family never the base material, >= 90% "
        "without a human",
    )
    table(
        [
            "vocabulary",
            "method",
            "values",
            "by tables",
            "without a human",
            "wrong without a human",
            "wrong if all printed labels are accepted",
            "faux as base material",
            "ms/value",
        ],
        rows,
        align="llrrrrrrr",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

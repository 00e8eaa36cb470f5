"""A brand-new marketplace built from a vocabulary file (tests/vocabulary/*.yaml).

One listing per raw value: colour, material and gender values on a dress listing,
category values as the listing's slug. :func:`outcomes` runs what a maintainer runs on a
new site (the shared tables, then ``unmapped``) and says for every value what a person
would get: a table label, a confident or low-confidence suggestion, or ``???``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from dataset.core.store import open_store
from dataset.mapping.mapper import resolve
from dataset.mapping.marketplace import MapConfig, label_listings
from dataset.mapping.normalise import normalise
from dataset.mapping.tables import COMMON, MAPPINGS_ROOT
from dataset.mapping.unmapped import unmapped_values
from tests.mapping_fixtures import listing, write_items

VOCABULARY = Path(__file__).with_name("vocabulary")
FIELDS = {"colour": "colors", "material": "materials", "gender": "gender", "category": "category"}
TASKS = {"colour": "colour", "material": "material", "gender": "gender", "category": "type"}
SITE = "newshop"


@dataclass(frozen=True)
class Outcome:
    field: str
    raw: str
    source: str  # "table", "high", "low" or "none"
    labels: frozenset[str] | None  # None: '???'
    acceptable: tuple[frozenset[str], ...]

    @property
    def correct(self) -> bool:
        return self.labels is None or self.labels in self.acceptable

    @property
    def covered(self) -> bool:
        """Labelled without a human: by a table, or by a confident (and right) suggestion."""
        return self.source in ("table", "high") and self.labels is not None


def load_vocabulary(name: str) -> dict[str, Any]:
    return yaml.safe_load((VOCABULARY / name).read_text(encoding="utf-8"))


def acceptable(answers: list[Any]) -> tuple[frozenset[str], ...]:
    def one(answer: Any) -> frozenset[str]:
        if answer == "ignore":
            return frozenset()
        return frozenset(answer if isinstance(answer, list) else [answer])

    return tuple(one(answer) for answer in answers)


def value_listings(vocabulary: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """``(field, raw, record)`` for every value of the vocabulary, one listing each."""
    out = []
    for field in FIELDS:
        for number, raw in enumerate(vocabulary[field]):
            item_id = f"{field}-{number}"
            if field == "category":
                record = listing(item_id, raw, site=SITE)
            elif field == "gender":
                record = listing(item_id, "robes", gender=raw, site=SITE)
            else:
                record = listing(item_id, "robes", site=SITE, **{FIELDS[field]: [raw]})
            out.append((field, raw, record))
    return out


def new_site(tmp_path: Path, vocabulary: dict[str, Any]) -> tuple[Path, Path]:
    """``(store, tables)``: the site's listings stored, and tables holding only ``_common``."""
    store, tables = tmp_path / "store", tmp_path / "tables"
    shutil.copytree(MAPPINGS_ROOT / COMMON, tables / COMMON)
    records = [record for _, _, record in value_listings(vocabulary)]
    write_items(open_store(store), records, f"raw/{SITE}/all/items/r1-00001.jsonl")
    return store, tables


def outcomes(tmp_path: Path, name: str) -> list[Outcome]:
    vocabulary = load_vocabulary(name)
    store, tables = new_site(tmp_path, vocabulary)
    config = MapConfig(tables=str(tables))
    labelled = label_listings(open_store(store), SITE, config)
    frame, _ = unmapped_values(open_store(store), SITE, config)
    rows = {(row["task"], row["value"]): row for row in frame.to_dict("records")}
    result = []
    for field, raw in ((f, raw) for f in FIELDS for raw in vocabulary[f]):
        task = TASKS[field]
        table = labelled.tables[task]
        labels, missing = resolve(raw, table, split=labelled.taxonomy.tasks[task].multi_label)
        answers = acceptable(vocabulary[field][raw])
        if not missing:
            result.append(Outcome(field, raw, "table", frozenset(labels), answers))
            continue
        assert missing == [normalise(raw)], (raw, missing)  # one value, not a list
        row = rows[(task, normalise(raw))]
        suggested = frozenset(row["labels"]) if row["labels"] is not None else None
        result.append(Outcome(field, raw, row["confidence"], suggested, answers))
    return result


def figures(results: list[Outcome], faux: list[str]) -> dict[str, Any]:
    """The issue's targets measured on one vocabulary."""
    faux_keys = {normalise(raw) for raw in faux}
    return {
        "values": len(results),
        "covered_share": round(sum(o.covered for o in results) / len(results), 4),
        "silent_wrong": [o.raw for o in results if o.source == "table" and not o.correct],
        "confident_wrong": [o.raw for o in results if o.source == "high" and not o.correct],
        "low_wrong": [o.raw for o in results if o.source == "low" and not o.correct],
        "faux_as_base": [
            o.raw
            for o in results
            if normalise(o.raw) in faux_keys and o.labels and o.labels - {"other"}
        ],
        "left_for_a_person": [o.raw for o in results if not o.covered],
    }

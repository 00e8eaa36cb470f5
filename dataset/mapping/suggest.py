"""Suggest a house label for a raw value no table covers (the ``unmapped`` command's hint).

Two sources, both data: the words the tables already know (a fuzzy match with rapidfuzz
catches spelling variants: ``bordeau`` -> ``bordeaux`` -> red), and, for colours, a
colour-name table (``dataset/mapping/colour_names.csv``, French and English names with
their sRGB value): a known colour name is mapped to the nearest house colour by CIELAB
distance (``pistache`` #93C572 -> green). The house colours' own reference values are
the table's rows named by their class id. A suggestion is a hint for the maintainer,
never applied by itself.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz, process

from dataset.mapping.normalise import normalise
from dataset.mapping.tables import MappingTable
from dataset.taxonomy.schema import Task

COLOUR_NAMES = Path(__file__).with_name("colour_names.csv")
COLOUR_TASK = "colour"
FUZZY_CUTOFF = 80.0  # rapidfuzz WRatio score (0-100) below which no word is suggested


@dataclass(frozen=True)
class Suggestion:
    labels: tuple[str, ...]  # empty: suggest 'ignore'
    reason: str

    @property
    def label_text(self) -> str:
        return ", ".join(self.labels) if self.labels else "ignore"


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of sRGB colours given as 0-255 values, shape ``(n, 3)``."""
    c = np.asarray(rgb, dtype=float) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    matrix = np.array(
        [
            [0.4124564, 0.3575761, 0.1804375],
            [0.2126729, 0.7151522, 0.0721750],
            [0.0193339, 0.1191920, 0.9503041],
        ]
    )
    xyz = linear @ matrix.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack(
        [116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1
    )


@lru_cache(maxsize=4)
def colour_names(path: Path = COLOUR_NAMES) -> dict[str, tuple[str, str]]:
    """Normalised colour name -> (name as written, hex), French and English."""
    with path.open(encoding="utf-8", newline="") as handle:
        return {normalise(row["name"]): (row["name"], row["hex"]) for row in csv.DictReader(handle)}


def _rgb(hex_value: str) -> list[int]:
    return [int(hex_value[i : i + 2], 16) for i in (1, 3, 5)]


def nearest_house_colour(hex_value: str, task: Task, table: MappingTable) -> tuple[str, str, float]:
    """The house colour nearest to ``hex_value``: ``(label, via colour name, CIE76 delta E)``.

    Every colour name that the table maps to exactly one house colour is a reference point
    of that colour (``teal``, ``turquoise`` and ``navy`` all stand for blue), plus the
    rows named by the class ids themselves.
    """
    references: list[tuple[str, str, str]] = []
    for key, (written, hex_ref) in colour_names().items():
        entry = table.get(key)
        if entry is not None and len(entry.labels) == 1:
            references.append((entry.labels[0], written, hex_ref))
        elif key in task:
            references.append((key, written, hex_ref))
    labs = srgb_to_lab(np.array([_rgb(hex_value)] + [_rgb(ref[2]) for ref in references]))
    distances = np.linalg.norm(labs[1:] - labs[0], axis=1)
    best = int(np.argmin(distances))
    return references[best][0], references[best][1], float(distances[best])


def _colour_suggestion(value: str, task: Task, table: MappingTable) -> Suggestion | None:
    names = colour_names()
    match = names.get(value)
    if match is None:
        found = process.extractOne(value, list(names), scorer=fuzz.WRatio, score_cutoff=88)
        if found is None:
            return None
        match = names[found[0]]
    label, via, distance = nearest_house_colour(match[1], task, table)
    return Suggestion(
        (label,),
        f"colour {match[0]!r} {match[1]} is nearest to {via!r} = {label} (ΔE {distance:.0f})",
    )


def _fuzzy(value: str, task: Task, table: MappingTable, cutoff: float) -> Suggestion | None:
    known: dict[str, tuple[str, ...]] = {key: e.labels for key, e in table.entries.items()}
    for item in task.classes:
        known.setdefault(normalise(item.id), (item.id,))
        known.setdefault(normalise(item.fr), (item.id,))
    found = process.extractOne(value, list(known), scorer=fuzz.WRatio, score_cutoff=cutoff)
    if found is None:
        return None
    word, score, _ = found
    return Suggestion(known[word], f"spelled like {word!r} (score {score:.0f})")


def suggest(value: str, task_name: str, task: Task, table: MappingTable) -> Suggestion | None:
    """A house label for the normalised ``value``, or None when nothing is close enough.

    A near-certain spelling match wins (``bordeau`` -> ``bordeaux``), then, for colours,
    the colour-name table, then a looser spelling match.
    """
    close = _fuzzy(value, task, table, cutoff=90)
    if close is not None:
        return close
    if task_name == COLOUR_TASK:
        hint = _colour_suggestion(value, task, table)
        if hint is not None:
            return hint
    return _fuzzy(value, task, table, cutoff=FUZZY_CUTOFF)

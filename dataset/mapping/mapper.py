"""Apply one mapping table to one column of raw labels, vectorised over distinct values.

A column of a million listings holds a few hundred distinct raw cells. The work is:
flatten the cells (:func:`dataset.mapping.normalise.explode_cells`), ``pd.factorize`` them, resolve
each *distinct* value once in Python (normalise, split, look up), encode its labels as a
bit mask, then OR the masks back per listing with numpy and turn each distinct mask into
its label list once. Nothing loops over rows in Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dataset.core.errors import UserError
from dataset.mapping.normalise import explode_cells, normalise, split_values
from dataset.mapping.tables import MappingTable
from dataset.taxonomy.schema import Task


@dataclass
class Unmapped:
    """One normalised value with no table entry, and the listings it appears on."""

    value: str
    raw_examples: list[str]
    rows: np.ndarray  # positions of the affected listings, sorted, unique


@dataclass
class ColumnResult:
    """Labels of every listing for one task, and what could not be mapped."""

    labels: np.ndarray  # object array: one list of house labels per listing
    has_value: np.ndarray  # bool: the listing shows at least one raw value
    complete: np.ndarray  # bool: every raw value of the listing is mapped or ignored
    unmapped: list[Unmapped] = field(default_factory=list)
    distinct_values: int = 0


def resolve(raw: str, table: MappingTable, split: bool) -> tuple[tuple[str, ...], list[str]]:
    """House labels of one raw cell and its parts that no table entry covers.

    The whole cell is looked up first (so ``Bleu marine`` or ``Kaki moutarde`` can have
    their own entry), then, for multi-label tasks, each of its parts.
    """
    key = normalise(raw)
    if not key:
        return (), []
    entry = table.get(key)
    if entry is not None:
        return entry.labels, []
    if not split:
        return (), [key]
    labels: list[str] = []
    missing: list[str] = []
    for part in split_values(raw):
        part_entry = table.get(part)
        if part_entry is None:
            missing.append(part)
        else:
            labels.extend(label for label in part_entry.labels if label not in labels)
    return tuple(labels), missing


def _mask_lists(masks: np.ndarray, ids: list[str]) -> np.ndarray:
    """Object array of label lists (class order) for an array of bit masks."""
    codes, uniques = pd.factorize(masks)
    lists = np.empty(len(uniques), dtype=object)
    for position, mask in enumerate(uniques):
        lists[position] = [label for bit, label in enumerate(ids) if int(mask) >> bit & 1]
    result: np.ndarray = lists[codes] if len(codes) else np.empty(0, dtype=object)
    return result


def map_column(cells: pd.Series, table: MappingTable, task: Task) -> ColumnResult:
    """Map a column of raw cells (strings, lists of strings or missing) with ``table``."""
    ids = task.ids
    if len(ids) > 63:
        raise UserError(f"task {table.task!r} has {len(ids)} classes; at most 63 are supported")
    bit = {label: np.uint64(1) << np.uint64(index) for index, label in enumerate(ids)}
    n_rows = len(cells)
    rows, values = explode_cells(cells)
    codes, uniques = pd.factorize(values)

    unique_masks = np.zeros(len(uniques), dtype=np.uint64)
    unique_present = np.zeros(len(uniques), dtype=bool)
    unique_missing: list[list[str]] = []
    for position, raw in enumerate(uniques):
        labels, missing = resolve(str(raw), table, split=task.multi_label)
        for label in labels:
            unique_masks[position] |= bit[label]
        unique_present[position] = bool(normalise(str(raw)))
        unique_missing.append(missing)

    present = unique_present[codes]
    rows, codes = rows[present], codes[present]
    row_masks = np.zeros(n_rows, dtype=np.uint64)
    np.bitwise_or.at(row_masks, rows, unique_masks[codes])
    has_value = np.zeros(n_rows, dtype=bool)
    has_value[rows] = True
    incomplete_codes = np.array([bool(m) for m in unique_missing], dtype=bool)
    complete = np.ones(n_rows, dtype=bool)
    complete[rows[incomplete_codes[codes]]] = False

    return ColumnResult(
        labels=_mask_lists(row_masks, ids),
        has_value=has_value,
        complete=complete,
        unmapped=_unmapped(rows, codes, uniques, unique_missing),
        distinct_values=len(uniques),
    )


def _unmapped(
    rows: np.ndarray, codes: np.ndarray, uniques: pd.Index, missing: list[list[str]]
) -> list[Unmapped]:
    """Unmapped values with their listings, most listings first."""
    incomplete = np.array([bool(parts) for parts in missing], dtype=bool)
    selected = incomplete[codes] if len(codes) else np.zeros(0, dtype=bool)
    sub_rows, sub_codes = rows[selected], codes[selected]
    order = np.argsort(sub_codes, kind="stable")
    sub_rows, sub_codes = sub_rows[order], sub_codes[order]
    starts = np.searchsorted(sub_codes, np.arange(len(missing)), side="left")
    ends = np.searchsorted(sub_codes, np.arange(len(missing)), side="right")
    by_value: dict[str, tuple[list[str], list[np.ndarray]]] = {}
    for position, parts in enumerate(missing):
        if not parts:
            continue
        affected = sub_rows[starts[position] : ends[position]]
        for part in parts:
            raws, row_sets = by_value.setdefault(part, ([], []))
            raws.append(str(uniques[position]))
            row_sets.append(affected)
    result = [
        Unmapped(value, sorted(raws)[:5], np.unique(np.concatenate(row_sets)))
        for value, (raws, row_sets) in by_value.items()
    ]
    result.sort(key=lambda item: (-len(item.rows), item.value))
    return result

"""Normalisation of raw marketplace labels before they are looked up in a mapping table.

Marketplaces write the same word many ways (``Crème``, ``creme``, ``CRÈMES``, `` crème ``).
:func:`normalise` folds case, accents, punctuation, whitespace, French and English plurals
and material percentages into one key; table keys go through the same function, so a
maintainer writes the word as the site shows it. :func:`split_values` cuts a multi-value
cell (``Kaki, Moutarde``, ``kaki et moutarde``, ``bleu/blanc``,
``60% coton, 40% polyester``) into its parts.

>>> normalise("  Crèmes ")
'creme'
>>> normalise("100% Coton")
'coton'
>>> split_values("60% coton, 40% polyester")
['coton', 'polyester']
>>> split_values("95% Coton 5% élasthanne")
['coton', 'elasthanne']
>>> split_values("Kaki et Moutarde")
['kaki', 'moutarde']

These run once per *distinct* raw value (see :func:`explode_cells` and ``pd.factorize``
in :mod:`dataset.mapping.mapper`): a million listings hold a few hundred distinct cells.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd

# A percentage with its optional decimals: "100%", "40 %", "2,5%".
_PERCENT = re.compile(r"\d+(?:[.,]\d+)?\s*%")
# Separators between the values of one cell; a comma followed by a digit is a decimal comma.
# A percentage after a space also starts a value: "95% coton 5% élasthanne" has no comma.
_SPLIT = re.compile(
    r"\s*(?:[;/|+&]|,(?!\d)|\s-\s|\bet\b|\band\b|\bavec\b|\bwith\b"
    r"|(?<=\s)(?=\d+(?:[.,]\d+)?\s*%))\s*"
)
# Anything but a letter or a digit becomes a space ("t-shirts" -> "t shirts").
_NON_WORD = re.compile(r"[^0-9a-z]+")
# Words whose final s is not a plural mark.
_KEEP_ENDING = frozenset({"gris", "lis", "jus", "bus", "plus", "dos", "tres", "bas", "pois"})


def fold(text: str) -> str:
    """Lowercase without accents or ligatures (``Œ`` -> ``oe``, ``É`` -> ``e``)."""
    text = text.casefold().replace("œ", "oe").replace("æ", "ae")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def singular(word: str) -> str:
    """A French or English word without its plural mark (``manteaux`` -> ``manteau``)."""
    if len(word) <= 3 or word in _KEEP_ENDING:
        return word
    if word.endswith("eaux"):
        return word[:-1]
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("sses"):  # dresses, glasses: the English -es after -ss
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def normalise(value: str) -> str:
    """The lookup key of one raw value: folded, no percentages or punctuation, singular."""
    text = _PERCENT.sub(" ", fold(value))
    return " ".join(singular(word) for word in _NON_WORD.sub(" ", text).split())


def split_values(value: str) -> list[str]:
    """The normalised parts of a multi-value cell, in order, without empties or repeats."""
    parts: list[str] = []
    for piece in _SPLIT.split(fold(value)):
        key = normalise(piece)
        if key and key not in parts:
            parts.append(key)
    return parts


def explode_cells(cells: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Flatten a column whose cells are strings, lists of strings or missing.

    Returns ``(rows, values)``: for every raw string, the position of its row and the
    string itself. Missing cells, empty lists and blank strings yield nothing.
    """
    flat = pd.Series(cells.to_numpy(dtype=object), dtype=object).explode()
    rows = flat.index.to_numpy()
    values = flat.to_numpy(dtype=object)
    keep = pd.notna(values)
    rows, values = rows[keep], values[keep]
    text = pd.Series(values, dtype=object).astype(str).str.strip()
    nonblank = (text != "").to_numpy()
    return rows[nonblank].astype(np.int64), text[nonblank].reset_index(drop=True)

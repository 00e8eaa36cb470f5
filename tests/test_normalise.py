"""Normalisation of raw labels: accents, case, plurals, percentages, multi-value cells."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dataset.mapping.normalise import explode_cells, normalise, split_values


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("Crème", "creme"),
        ("  CRÈMES  ", "creme"),
        ("Écru", "ecru"),
        ("Bleu   Marine", "bleu marine"),
        ("Hommes", "homme"),
        ("Bébés", "bebe"),
        ("Garçons", "garcon"),
        ("Manteaux", "manteau"),
        ("Gris", "gris"),  # a final s that is not a plural
        ("Leggings", "legging"),
        ("Puppies", "puppy"),
        ("Dresses", "dress"),
        ("women-dresses", "women dress"),
        ("Blouses", "blouse"),
        ("100% coton", "coton"),
        ("100 % Coton", "coton"),
        ("Laine mérinos", "laine merino"),
        ("t-shirts", "t shirt"),
        ("Œillet", "oeillet"),
        ("%", ""),
    ],
)
def test_normalise(raw: str, key: str) -> None:
    assert normalise(raw) == key


@pytest.mark.parametrize(
    ("cell", "parts"),
    [
        ("Kaki, Moutarde", ["kaki", "moutarde"]),
        ("kaki et moutarde", ["kaki", "moutarde"]),
        ("bleu/blanc", ["bleu", "blanc"]),
        ("Black & White", ["black", "white"]),
        ("black and white", ["black", "white"]),
        ("60% coton, 40% polyester", ["coton", "polyester"]),
        ("97,5% coton; 2,5% élasthanne", ["coton", "elasthanne"]),
        ("95% Coton 5% élasthanne", ["coton", "elasthanne"]),  # no separator but the %
        ("80 % laine 20 % soie", ["laine", "soie"]),
        ("Laine 100%", ["laine"]),
        ("Bleu marine", ["bleu marine"]),
        ("Rouge, rouges", ["rouge"]),
        (" , ", []),
    ],
)
def test_split_values(cell: str, parts: list[str]) -> None:
    assert split_values(cell) == parts


def test_explode_cells_keeps_row_positions_and_drops_blanks() -> None:
    cells = pd.Series(
        [["Kaki, Moutarde", "Bleu"], None, [], "Rouge", np.array(["Noir", ""]), ["  "]],
        dtype=object,
    )
    rows, values = explode_cells(cells)
    assert rows.tolist() == [0, 0, 3, 4]
    assert values.tolist() == ["Kaki, Moutarde", "Bleu", "Rouge", "Noir"]

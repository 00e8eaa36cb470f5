"""The colour-name lexicon (``colour_names.csv``) and CIELAB distance between colours.

Each row names a colour as sellers write it, in French or English, with its sRGB value
and its basic colour(s): ``bordeaux`` is red, ``violet`` purple, ``argenté`` silver,
``multicolore`` multicolour. A basic colour that is not a house class (purple, silver,
gold, multicolour) makes the name an ``ignore`` suggestion; a row with only a hex is
placed by CIELAB distance (:func:`srgb_to_lab`).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from dataset.core.errors import UserError
from dataset.mapping.normalise import normalise

COLOUR_NAMES = Path(__file__).with_name("colour_names.csv")


@dataclass(frozen=True)
class ColourName:
    written: str
    hex: str  # "#RRGGBB" or empty
    basic: tuple[str, ...]  # its basic colour(s), house class ids or not; empty: unknown


@lru_cache(maxsize=4)
def colour_names(path: Path = COLOUR_NAMES) -> dict[str, ColourName]:
    """Normalised colour name -> :class:`ColourName`, French and English."""
    names: dict[str, ColourName] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            basic = tuple((row.get("basic") or "").split())
            hex_value = (row.get("hex") or "").strip()
            if not row.get("name") or not (basic or len(hex_value) == 7):
                raise UserError(
                    f"{path}:{line}: a colour name needs a basic colour or a #RRGGBB hex. "
                    f"Received: {dict(row)!r}"
                )
            names[normalise(row["name"])] = ColourName(row["name"], hex_value, basic)
    return names


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


def hex_to_rgb(hex_value: str) -> list[int]:
    return [int(hex_value[i : i + 2], 16) for i in (1, 3, 5)]

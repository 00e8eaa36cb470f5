"""Garment boxes ``(x1, y1, x2, y2)`` in pixels (``x2``, ``y2`` exclusive), checked
against the image they belong to, for DeepFashion2 annotations and ``search --box``.

A box partly outside its image is clamped to it; one with no area (``x2 <= x1`` or
``y2 <= y1``: zero, negative or swapped) is ``degenerate_box`` and one with nothing
inside the image is ``box_outside_image``: both are skipped and counted by the caller,
never encoded as a 1x1 crop.

>>> fit_box([-5, 10, 30, 200], width=40, height=100)
([0, 10, 30, 100], None)
>>> fit_box([50, 0, 60, 10], width=40, height=100)
(None, 'box_outside_image')
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from dataset.core.errors import UserError

DEGENERATE = "degenerate_box"
OUTSIDE = "box_outside_image"


def as_numbers(raw: Any) -> list[float] | None:
    """Four finite numbers from a JSON list, else None (missing, short, text, NaN)."""
    if not isinstance(raw, list | tuple) or len(raw) != 4:
        return None
    try:
        values = [float(v) for v in raw if not isinstance(v, bool)]
    except (TypeError, ValueError):
        return None
    return values if len(values) == 4 and all(math.isfinite(v) for v in values) else None


def fit_box(box: Sequence[float], width: int, height: int) -> tuple[list[int] | None, str | None]:
    """``(clamped box, None)``, or ``(None, reason)`` when the box cannot be cropped."""
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    if x2 <= x1 or y2 <= y1:
        return None, DEGENERATE
    clamped = [max(x1, 0), max(y1, 0), min(x2, width), min(y2, height)]
    if clamped[2] <= clamped[0] or clamped[3] <= clamped[1]:
        return None, OUTSIDE
    return clamped, None


def parse_box(text: str) -> list[float]:
    """``x1,y1,x2,y2`` from the command line."""
    values = as_numbers(text.split(","))
    if values is None:
        raise UserError(f"--box: expected four numbers x1,y1,x2,y2. Received: {text!r}")
    return values


def crop_to_box(image: Any, box: Sequence[float], name: str) -> Any:
    """The part of an ``HxWx3`` array inside ``box`` (clamped); a one-line error when the
    box has no area or lies outside the image."""
    height, width = image.shape[:2]
    fitted, reason = fit_box(box, width, height)
    if fitted is None:
        shown = ",".join(f"{v:g}" for v in box)
        problem = str(reason).replace("_", " ")
        raise UserError(f"--box {shown}: {problem} ({name} is {width}x{height} pixels)")
    x1, y1, x2, y2 = fitted
    return image[y1:y2, x1:x2]

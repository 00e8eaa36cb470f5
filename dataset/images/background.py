"""Find the object on a plain studio background: the region that differs from the border.

Product photos show one garment on a plain backdrop. The border pixels give the
backdrop colour; pixels far from it belong to the garment. The box around them is
used twice: hashes of the cropped object survive shifts and small crops of the frame
(dedup), and it is the GrabCut starting box on studio shots (segmentation).

>>> import numpy as np
>>> image = np.full((40, 60), 240, np.uint8); image[10:30, 20:35] = 30
>>> object_box(image)
(20, 10, 35, 30)
"""

from __future__ import annotations

import numpy as np

# A backdrop is "plain" when its border pixels vary little (grey levels, 0-255); studio
# lighting gradients give a median absolute deviation of about 6-8.
PLAIN_BORDER_MAD = 12.0
# Pixels this far from the backdrop colour (grey levels) belong to the object.
MIN_CONTRAST = 18.0
# Less than this fraction of differing pixels: nothing there (or the backdrop is busy).
MIN_OBJECT_FRACTION = 0.01


def median(values: np.ndarray) -> float:
    """``float(np.median(values))`` of a float array without NaN, the same number (the
    middle value, or the mean of the two middle values in the array's dtype) from one
    partition, without ``np.median``'s general machinery (about 10 us a call; dedup makes
    seven an image).

    >>> median(np.array([3, 1, 2, 10], np.float32)), median(np.array([[5.0, 1.0, 4.0]]))
    (2.5, 4.0)
    """
    values = values.ravel()
    middle = len(values) // 2
    if len(values) % 2:
        return float(np.partition(values, middle)[middle])
    low, high = np.partition(values, (middle - 1, middle))[middle - 1 : middle + 1]
    return float((low + high) / 2)


def border_stats(gray: np.ndarray) -> tuple[float, float]:
    """Median grey level of the 1-pixel border and its median absolute deviation."""
    border = np.concatenate([gray[0], gray[-1], gray[1:-1, 0], gray[1:-1, -1]]).astype(np.float32)
    centre = median(border)
    return centre, median(np.abs(border - centre))


def object_box(gray: np.ndarray, *, require_plain: bool = True) -> tuple[int, int, int, int] | None:
    """``(x0, y0, x1, y1)`` (exclusive ends) of what differs from the border, else ``None``.

    ``gray``: grey levels (uint8). ``None`` when the border is not plain
    (``require_plain``) or nothing stands out.
    """
    centre, mad = border_stats(gray)
    if require_plain and mad > PLAIN_BORDER_MAD:
        return None
    # The levels that differ, |level - centre| > threshold in float32, lie outside one
    # interval of levels: two comparisons of the uint8 pixels instead of the test in
    # float32 on every pixel (a quarter of the cost).
    levels = np.abs(np.arange(256, dtype=np.float32) - centre) > max(MIN_CONTRAST, 3.0 * mad)
    backdrop = np.flatnonzero(~levels)
    differs = (gray < backdrop[0]) | (gray > backdrop[-1])
    if np.count_nonzero(differs) / differs.size < MIN_OBJECT_FRACTION:
        return None
    cols = np.flatnonzero(differs.any(axis=0))
    rows = np.flatnonzero(differs.any(axis=1))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1

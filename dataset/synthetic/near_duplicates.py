"""A generated near-duplicate benchmark: product-like photos, hard negatives, edited copies.

Every photo shows one garment on a plain studio background. Photos come in *families*
that share the silhouette and the colour family (the hard negatives: two different
garments a hash alone confuses) and differ in details (stripes, dots, pockets, a print,
buttons, a slightly different cut). Some photos get edited copies, one edit kind each:
JPEG re-encode at several qualities, resize, a shift of 2-8 px, a 4% crop, +12%
brightness. The ground truth is the group of each original and its copies.

>>> bench = make_near_duplicate_set(n_families=2, family_size=2, copies_per_image=1, seed=0)
>>> len(bench.images) == 4 + len(bench.copies)
True
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

# Silhouettes as polygons in unit coordinates (x right, y down), drawn centred.
_SILHOUETTES: dict[str, list[tuple[float, float]]] = {
    "t-shirt": [
        (0.35, 0.12),
        (0.45, 0.16),
        (0.55, 0.16),
        (0.65, 0.12),
        (0.88, 0.28),
        (0.80, 0.40),
        (0.70, 0.34),
        (0.70, 0.88),
        (0.30, 0.88),
        (0.30, 0.34),
        (0.20, 0.40),
        (0.12, 0.28),
    ],
    "sweater": [
        (0.35, 0.12),
        (0.45, 0.15),
        (0.55, 0.15),
        (0.65, 0.12),
        (0.82, 0.22),
        (0.92, 0.80),
        (0.82, 0.82),
        (0.72, 0.40),
        (0.72, 0.88),
        (0.28, 0.88),
        (0.28, 0.40),
        (0.18, 0.82),
        (0.08, 0.80),
        (0.18, 0.22),
    ],
    "dress": [
        (0.40, 0.08),
        (0.60, 0.08),
        (0.64, 0.30),
        (0.60, 0.42),
        (0.80, 0.92),
        (0.20, 0.92),
        (0.40, 0.42),
        (0.36, 0.30),
    ],
    "trousers": [
        (0.30, 0.08),
        (0.70, 0.08),
        (0.76, 0.92),
        (0.58, 0.92),
        (0.50, 0.36),
        (0.42, 0.92),
        (0.24, 0.92),
    ],
    "skirt": [(0.34, 0.20), (0.66, 0.20), (0.84, 0.80), (0.16, 0.80)],
}

# Colour families (RGB): members of a family differ by a small jitter only.
_COLOURS: dict[str, tuple[int, int, int]] = {
    "navy": (30, 45, 95),
    "red": (170, 35, 40),
    "khaki": (120, 115, 70),
    "black": (30, 30, 32),
    "beige": (205, 185, 150),
    "pink": (215, 120, 150),
    "grey": (120, 122, 125),
    "mustard": (200, 160, 40),
}

_DETAILS = ("stripes", "dots", "pocket", "print", "buttons", "plain-seams", "checks")

EDIT_KINDS = ("jpeg", "resize", "shift", "crop", "brightness")


@dataclass(frozen=True)
class Design:
    """One distinct garment: silhouette, colour and the details that tell it apart."""

    family: int
    silhouette: str
    colour: tuple[int, int, int]
    background: tuple[int, int, int]
    details: tuple[str, ...]
    seed: int


@dataclass
class NearDuplicateSet:
    """Images (name -> JPEG bytes), the original each came from, and the edit applied."""

    images: dict[str, bytes] = field(default_factory=dict)
    group: dict[str, str] = field(default_factory=dict)  # image name -> original's name
    family: dict[str, int] = field(default_factory=dict)  # image name -> hard-negative family
    edit: dict[str, str] = field(default_factory=dict)  # copy name -> edit kind (+ parameter)
    copies: list[str] = field(default_factory=list)

    def true_pairs(self) -> set[tuple[str, str]]:
        """Every unordered pair of names that show the same photo (sorted tuples)."""
        by_group: dict[str, list[str]] = {}
        for name, origin in self.group.items():
            by_group.setdefault(origin, []).append(name)
        pairs: set[tuple[str, str]] = set()
        for names in by_group.values():
            names.sort()
            pairs.update((a, b) for i, a in enumerate(names) for b in names[i + 1 :])
        return pairs

    def pair_kind(self, a: str, b: str) -> str:
        """The edit kind a true pair measures: the copy's kind, or ``mixed`` for two copies."""
        kinds = [self.edit[n].split(":")[0] for n in (a, b) if n in self.edit]
        return kinds[0] if len(kinds) == 1 else "mixed"


def render_design(design: Design, size: tuple[int, int]) -> np.ndarray:
    """The garment photo as an RGB ``uint8`` array of ``size`` (width, height)."""
    import cv2

    width, height = size
    scale = 3  # draw large, then area-downscale: anti-aliased edges like a real photo
    w, h = width * scale, height * scale
    rng = np.random.default_rng(design.seed)
    canvas = np.empty((h, w, 3), np.float32)
    canvas[:] = design.background
    # A soft vertical gradient, as studio lighting gives.
    canvas *= np.linspace(1.02, 0.96, h, dtype=np.float32)[:, None, None]

    mask = _silhouette(design, w, h)

    garment = np.empty((h, w, 3), np.float32)
    garment[:] = design.colour
    garment *= np.linspace(1.08, 0.9, w, dtype=np.float32)[None, :, None]  # light from the left
    ys, xs = np.nonzero(mask)
    x0, x1, y0, y1 = xs.min(), xs.max(), ys.min(), ys.max()
    accent = tuple(float(c) for c in np.clip(np.array(design.colour) * 0.55 + 110, 0, 255))
    for detail in design.details:
        _draw_detail(garment, detail, (x0, y0, x1, y1), accent, rng, scale)

    alpha = (mask.astype(np.float32) / 255.0)[..., None]
    image = canvas * (1 - alpha) + garment * alpha
    image += rng.normal(0, 2.0, image.shape).astype(np.float32)  # sensor noise
    small = cv2.resize(np.clip(image, 0, 255), (width, height), interpolation=cv2.INTER_AREA)
    return np.clip(small, 0, 255).astype(np.uint8)


def _silhouette(design: Design, width: int, height: int) -> np.ndarray:
    import cv2

    rng = np.random.default_rng(design.seed + 1)  # the cut's own jitter: same at any size
    unit = np.array(_SILHOUETTES[design.silhouette])
    unit = unit + rng.normal(0, 0.015, unit.shape)
    side = min(width, height)
    points = unit * side + np.array([(width - side) / 2, (height - side) / 2])
    mask = np.zeros((height, width), np.uint8)
    cv2.fillPoly(mask, [points.astype(np.int32)], 255)
    return mask


def silhouette_mask(design: Design, size: tuple[int, int]) -> np.ndarray:
    """The garment's true mask (boolean, ``size`` = (width, height)) in :func:`render_design`."""
    import cv2

    scale = 3
    big = _silhouette(design, size[0] * scale, size[1] * scale).astype(np.float32)
    return np.asarray(cv2.resize(big, size, interpolation=cv2.INTER_AREA) >= 127.5)


def _draw_detail(
    garment: np.ndarray,
    detail: str,
    box: tuple[int, int, int, int],
    accent: tuple[float, ...],
    rng: np.random.Generator,
    scale: int,
) -> None:
    import cv2

    x0, y0, x1, y1 = (int(v) for v in box)
    bw, bh = x1 - x0, y1 - y0
    if detail == "stripes":
        period = int(rng.integers(6, 14)) * scale
        phase = int(rng.integers(0, period))
        for y in range(y0 + phase, y1, period):
            cv2.rectangle(garment, (x0, y), (x1, y + period // 3), accent, -1)
    elif detail == "checks":
        period = int(rng.integers(8, 16)) * scale
        for x in range(x0 + int(rng.integers(0, period)), x1, period):
            cv2.rectangle(garment, (x, y0), (x + period // 4, y1), accent, -1)
    elif detail == "dots":
        for _ in range(int(rng.integers(8, 20))):
            centre = (int(rng.integers(x0, x1)), int(rng.integers(y0, y1)))
            cv2.circle(garment, centre, int(rng.integers(2, 4)) * scale, accent, -1)
    elif detail == "pocket":
        px = int(x0 + bw * rng.uniform(0.25, 0.6))
        py = int(y0 + bh * rng.uniform(0.3, 0.6))
        cv2.rectangle(garment, (px, py), (px + bw // 6, py + bh // 7), accent, 2 * scale)
    elif detail == "print":
        px = int(x0 + bw * rng.uniform(0.3, 0.5))
        py = int(y0 + bh * rng.uniform(0.25, 0.45))
        cv2.ellipse(
            garment, (px, py), (bw // 8, bh // 12), float(rng.uniform(0, 180)), 0, 360, accent, -1
        )
    elif detail == "buttons":
        cx = int(x0 + bw * rng.uniform(0.45, 0.55))
        for k in range(int(rng.integers(3, 6))):
            cy = int(y0 + bh * (0.25 + 0.12 * k))
            cv2.circle(garment, (cx, cy), 2 * scale, accent, -1)
    elif detail == "plain-seams":
        y = int(y0 + bh * rng.uniform(0.4, 0.7))
        cv2.line(garment, (x0, y), (x1, y), accent, scale)


def make_designs(n_families: int, family_size: int, seed: int) -> list[Design]:
    """``n_families`` x ``family_size`` distinct garments; one family = one shape and colour."""
    rng = random.Random(seed)
    designs = []
    for family in range(n_families):
        silhouette = rng.choice(sorted(_SILHOUETTES))
        base = np.array(_COLOURS[rng.choice(sorted(_COLOURS))])
        background = tuple(int(v) for v in rng.choice([(245, 245, 245), (236, 236, 232)]))
        for _member in range(family_size):
            colour = tuple(int(c) for c in np.clip(base + rng.randint(-12, 12), 0, 255))
            details = tuple(rng.sample(_DETAILS, rng.randint(1, 2)))
            designs.append(
                Design(family, silhouette, colour, background, details, rng.randrange(2**31))  # type: ignore[arg-type]
            )
    return designs


def apply_edit(image: np.ndarray, kind: str, rng: random.Random) -> tuple[bytes, str]:
    """JPEG bytes of one edited copy of ``image`` and a label ``kind:parameter``."""
    import cv2

    height, width = image.shape[:2]
    quality = 92
    if kind == "jpeg":
        quality = rng.choice([90, 75, 60, 45])
        label = f"jpeg:q{quality}"
    elif kind == "resize":
        factor = rng.choice([0.6, 0.75, 1.25, 1.5])
        size = (round(width * factor), round(height * factor))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        label = f"resize:x{factor}"
    elif kind == "shift":
        dx, dy = (rng.choice([-1, 1]) * rng.randint(2, 8) for _ in range(2))
        matrix = np.array([[1, 0, dx], [0, 1, dy]], dtype=np.float32)
        image = cv2.warpAffine(image, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)
        label = f"shift:{dx},{dy}"
    elif kind == "crop":
        cut_x, cut_y = round(width * 0.04), round(height * 0.04)
        left, top = rng.randint(0, cut_x), rng.randint(0, cut_y)
        image = image[top : height - (cut_y - top), left : width - (cut_x - left)]
        label = "crop:4%"
    elif kind == "brightness":
        image = np.clip(image.astype(np.float32) * 1.12, 0, 255).astype(np.uint8)
        label = "brightness:+12%"
    else:
        raise ValueError(f"unknown edit kind {kind!r}; expected one of {EDIT_KINDS}")
    return encode_jpeg(image, quality), label


def encode_jpeg(image: np.ndarray, quality: int = 92) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def make_near_duplicate_set(
    n_families: int = 50,
    family_size: int = 4,
    copies_per_image: float = 1.0,
    size: tuple[int, int] = (128, 128),
    seed: int = 0,
    edit_kinds: tuple[str, ...] = EDIT_KINDS,
    render: Callable[[Design, tuple[int, int]], np.ndarray] = render_design,
) -> NearDuplicateSet:
    """Originals ``orig-<i>`` and copies ``orig-<i>-<kind>-<k>``; edit kinds cycled evenly.

    ``copies_per_image`` is the mean number of copies per original (0.5: every other one).
    """
    rng = random.Random(seed + 1)
    bench = NearDuplicateSet()
    next_kind = 0
    budget = 0.0
    for index, design in enumerate(make_designs(n_families, family_size, seed)):
        pixels = render(design, size)
        name = f"orig-{index:05d}"
        bench.images[name] = encode_jpeg(pixels)
        bench.group[name] = name
        bench.family[name] = design.family
        budget += copies_per_image
        k = 0
        while budget >= 1.0:
            budget -= 1.0
            kind = edit_kinds[next_kind % len(edit_kinds)]
            next_kind += 1
            copy = f"{name}-{kind}-{k}"
            k += 1
            bench.images[copy], bench.edit[copy] = apply_edit(pixels, kind, rng)
            bench.group[copy] = name
            bench.family[copy] = design.family
            bench.copies.append(copy)
    return bench

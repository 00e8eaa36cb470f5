"""A second near-duplicate set, made independently of :mod:`dataset.synthetic.near_duplicates`.

Held-out data for the dedup thresholds: nothing here is shared with the first generator's
silhouettes, colours, details or edits. Portrait photos (not square) of garments cut
from other shapes (hoodie, coat, tank top, shorts, jumpsuit, shirt), filled with
textures (knit, twill, plaid, marl, herringbone) in colours drawn in HSV, on varied
backdrops (plain, gradient, floorboards, patterned wallpaper). Look-alike families share
silhouette, colour, texture and backdrop pixel for pixel and differ only in details: a
printed word, a logo, a pocket, buttons. A share of families (:data:`PLAIN_SHARE`) are
plain: a smooth garment on a plain backdrop, told apart by a logo, a pocket or buttons
alone, with few corners for local features to repeat under a crop or a shift. Copies get one edit each from :data:`EDITS`
(JPEG, resize, crop up to 10% changing the aspect, shift, brightness/contrast, a local
retouch, a small rotation, a watermark); some originals get two copies, so copy-to-copy
pairs are measured too.

>>> bench = make_lookalike_set(n_families=2, family_size=3, copies_per_image=1, seed=0)
>>> len(bench.images) == 6 + len(bench.copies)
True
"""

from __future__ import annotations

import io
import random
import string
from collections.abc import Callable

import numpy as np
from PIL import Image

from dataset.synthetic.near_duplicates import NearDuplicateSet

SIZE = (192, 256)  # width, height: portrait, as phone photos of a hung garment

Points = list[tuple[float, float]]


def _hoodie(r: random.Random) -> Points:
    w = r.uniform(0.30, 0.36)
    return [(0.5 - 0.1, 0.10), (0.5, 0.05), (0.5 + 0.1, 0.10), (0.5 + w, 0.22),
            (0.5 + w + 0.1, 0.78), (0.5 + w - 0.02, 0.80), (0.5 + w - 0.06, 0.45),
            (0.5 + w - 0.06, 0.86), (0.5 - w + 0.06, 0.86), (0.5 - w + 0.06, 0.45),
            (0.5 - w + 0.02, 0.80), (0.5 - w - 0.1, 0.78), (0.5 - w, 0.22)]  # fmt: skip


def _coat(r: random.Random) -> Points:
    hem = r.uniform(0.90, 0.95)
    return [(0.40, 0.07), (0.5, 0.16), (0.60, 0.07), (0.78, 0.14), (0.86, 0.70),
            (0.78, 0.71), (0.74, 0.35), (0.76, hem), (0.24, hem), (0.26, 0.35),
            (0.22, 0.71), (0.14, 0.70), (0.22, 0.14)]  # fmt: skip


def _tank_top(r: random.Random) -> Points:
    neck = r.uniform(0.18, 0.24)
    return [(0.36, 0.08), (0.42, 0.08), (0.5, neck), (0.58, 0.08), (0.64, 0.08),
            (0.68, 0.28), (0.74, 0.36), (0.72, 0.84), (0.28, 0.84), (0.26, 0.36),
            (0.32, 0.28)]  # fmt: skip


def _shorts(r: random.Random) -> Points:
    leg = r.uniform(0.55, 0.62)
    return [(0.22, 0.30), (0.78, 0.30), (0.84, leg), (0.55, leg + 0.04), (0.5, 0.46),
            (0.45, leg + 0.04), (0.16, leg)]  # fmt: skip


def _jumpsuit(r: random.Random) -> Points:
    waist = r.uniform(0.40, 0.46)
    return [(0.36, 0.06), (0.64, 0.06), (0.72, 0.20), (0.66, waist), (0.70, 0.94),
            (0.56, 0.94), (0.5, 0.58), (0.44, 0.94), (0.30, 0.94), (0.34, waist),
            (0.28, 0.20)]  # fmt: skip


def _shirt(r: random.Random) -> Points:
    cuff = r.uniform(0.55, 0.62)
    return [(0.38, 0.10), (0.46, 0.14), (0.54, 0.14), (0.62, 0.10), (0.80, 0.18),
            (0.92, cuff), (0.82, cuff + 0.02), (0.72, 0.32), (0.72, 0.90), (0.28, 0.90),
            (0.28, 0.32), (0.18, cuff + 0.02), (0.08, cuff), (0.20, 0.18)]  # fmt: skip


SILHOUETTES: dict[str, Callable[[random.Random], Points]] = {
    "hoodie": _hoodie, "coat": _coat, "tank-top": _tank_top, "shorts": _shorts,
    "jumpsuit": _jumpsuit, "shirt": _shirt,
}  # fmt: skip
TEXTURES = ("knit", "twill", "plaid", "marl", "herringbone", "smooth")
BACKDROPS = ("plain", "gradient", "floorboards", "wallpaper")
PLAIN_SHARE = 0.25  # families of smooth garments on plain backdrops, without a printed word
EDITS = ("jpeg", "resize", "crop", "shift", "contrast", "retouch", "rotate", "watermark")


def _hsv_colour(r: random.Random) -> np.ndarray:
    import cv2

    hsv = np.array([[[r.randrange(180), r.randrange(40, 230), r.randrange(50, 230)]]], np.uint8)
    return np.asarray(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB))[0, 0].astype(np.float32)


def _texture(kind: str, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A multiplicative shade map around 1.0."""
    h, w = shape
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    period = float(rng.uniform(5, 9))
    if kind == "knit":
        return 1 + 0.10 * np.sin(x * 2 * np.pi / period) * np.sign(np.sin(y * np.pi / period))
    if kind == "twill":
        return 1 + 0.12 * np.sin((x + y) * 2 * np.pi / period)
    if kind == "plaid":
        bands = (np.sin(x * np.pi / (3 * period)) > 0.6) | (np.sin(y * np.pi / (3 * period)) > 0.6)
        return 1 - 0.25 * bands.astype(np.float32)
    if kind == "marl":
        import cv2

        noise = rng.normal(0, 1, (h, w)).astype(np.float32)
        return 1 + 0.06 * cv2.GaussianBlur(noise, (0, 0), 1.2) / 0.25
    if kind == "herringbone":
        zig = np.abs(((x / period) % 2) - 1)
        return 1 + 0.12 * np.sin((y + zig * period * np.sign(np.sin(x * np.pi / period))) / 2)
    return np.ones((h, w), np.float32)


def _backdrop(kind: str, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    h, w = shape
    base = rng.uniform(150, 240, 3).astype(np.float32)
    canvas = np.empty((h, w, 3), np.float32)
    canvas[:] = base
    if kind == "gradient":
        canvas *= np.linspace(0.8, 1.1, h, dtype=np.float32)[:, None, None]
    elif kind == "floorboards":
        board = int(rng.integers(22, 40))
        for top in range(0, h, board):
            canvas[top : top + board] *= rng.uniform(0.75, 1.05)
            canvas[top : top + 1] *= 0.6
        canvas *= 1 + 0.05 * np.sin(np.arange(w, dtype=np.float32) / 3)[None, :, None]
    elif kind == "wallpaper":
        step = int(rng.integers(18, 30))
        for cy in range(step // 2, h, step):
            for cx in range((cy // step % 2) * step // 2, w, step):
                canvas[max(0, cy - 2) : cy + 2, max(0, cx - 2) : cx + 2] *= 0.8
    return canvas


def _details(
    image: np.ndarray, box: tuple[int, int, int, int], r: random.Random, word: bool
) -> None:
    """What tells two members of a family apart: a printed word (``word``), a logo, a
    pocket, buttons."""
    import cv2

    x0, y0, x1, y1 = box
    bw, bh = x1 - x0, y1 - y0
    # Ink that contrasts in luminance with the garment (a print is meant to be seen).
    luminance = float(image[y0:y1, x0:x1].mean())
    ink = tuple(float(v) for v in r.choice([(250, 250, 250), (245, 220, 90)] if luminance < 128
                                           else [(20, 20, 20), (120, 20, 30)]))  # fmt: skip
    if word:
        text = "".join(r.choices(string.ascii_uppercase, k=r.randint(3, 5)))
        org = (x0 + int(bw * r.uniform(0.22, 0.4)), y0 + int(bh * r.uniform(0.3, 0.5)))
        cv2.putText(image, text, org, cv2.FONT_HERSHEY_SIMPLEX, bw / 150, ink, 2, cv2.LINE_AA)
    if r.random() < 0.6 or not word:
        centre = (x0 + int(bw * r.uniform(0.3, 0.7)), y0 + int(bh * r.uniform(0.55, 0.75)))
        radius = int(bw * r.uniform(0.05, 0.09))
        sides = r.choice([3, 4, 5, 6, 0])
        if sides:
            angles = np.linspace(0, 2 * np.pi, sides, endpoint=False) + r.uniform(0, np.pi)
            points = np.stack([centre[0] + radius * np.cos(angles),
                               centre[1] + radius * np.sin(angles)], 1)  # fmt: skip
            cv2.fillPoly(image, [points.astype(np.int32)], ink, cv2.LINE_AA)
        else:
            cv2.circle(image, centre, radius, ink, 2, cv2.LINE_AA)
    if r.random() < 0.5:
        px, py = x0 + int(bw * r.uniform(0.2, 0.6)), y0 + int(bh * r.uniform(0.6, 0.75))
        cv2.rectangle(image, (px, py), (px + bw // 5, py + bh // 8), ink, 1, cv2.LINE_AA)
    for k in range(r.choice([0, 0, 3, 4, 5])):
        cv2.circle(image, (x0 + bw // 2, y0 + int(bh * (0.3 + 0.1 * k))), 3, ink, -1, cv2.LINE_AA)


def render_family_member(family_seed: int, member_seed: int, plain: bool = False) -> np.ndarray:
    """One photo (RGB uint8, :data:`SIZE`): the family's garment with the member's details;
    ``plain``: smooth, on a plain backdrop, without a printed word."""
    import cv2

    width, height = SIZE
    family = random.Random(family_seed)
    rng = np.random.default_rng(family_seed)
    silhouette = SILHOUETTES[family.choice(sorted(SILHOUETTES))](family)
    colour = _hsv_colour(family)
    backdrop = family.choice(BACKDROPS)
    image = _backdrop("plain" if plain else backdrop, (height, width), rng)
    points = np.array([(x * width, y * height) for x, y in silhouette], np.int32)
    mask = np.zeros((height, width), np.uint8)
    cv2.fillPoly(mask, [points], 255, cv2.LINE_AA)
    texture = family.choice(TEXTURES)
    garment = colour * _texture("smooth" if plain else texture, (height, width), rng)[..., None]
    alpha = (mask.astype(np.float32) / 255)[..., None]
    image = image * (1 - alpha) + garment * alpha
    image += rng.normal(0, 1.5, image.shape).astype(np.float32)
    bare = np.clip(image, 0, 255).astype(np.uint8)
    ys, xs = np.nonzero(mask)
    box = (int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max()))
    member = random.Random(member_seed)
    for _attempt in range(10):
        detailed = bare.copy()
        _details(detailed, box, member, word=not plain)
        detailed = np.where(mask[..., None] > 0, detailed, bare)  # details on the garment
        # A member must differ visibly: details that fell beside a narrow cut are redrawn.
        changed = np.abs(detailed.astype(np.int16) - bare).mean(axis=-1) > 40
        if changed.sum() >= 150:
            break
    return detailed


def edit_copy(image: np.ndarray, kind: str, r: random.Random) -> tuple[bytes, str]:
    """JPEG bytes of one edited copy and a label ``kind:parameter``."""
    import cv2

    height, width = image.shape[:2]
    quality = 90
    if kind == "jpeg":
        quality = r.choice([35, 50, 70])
        label = f"jpeg:q{quality}"
    elif kind == "resize":
        factor = r.choice([0.5, 0.7, 1.3, 1.6])
        image = cv2.resize(image, (round(width * factor), round(height * factor)),
                           interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC)  # fmt: skip
        label = f"resize:x{factor}"
    elif kind == "crop":
        cut_x, cut_y = r.uniform(0, 0.10), r.uniform(0, 0.10)  # unequal: aspect changes
        left, top = round(r.uniform(0, cut_x) * width), round(r.uniform(0, cut_y) * height)
        right, bottom = width - round(cut_x * width) + left, height - round(cut_y * height) + top
        image = image[top:bottom, left:right]
        label = f"crop:{cut_x:.0%}x{cut_y:.0%}"
    elif kind == "shift":
        dx, dy = (r.choice([-1, 1]) * r.randint(4, 14) for _ in range(2))
        matrix = np.array([[1, 0, dx], [0, 1, dy]], np.float32)
        image = cv2.warpAffine(image, matrix, (width, height), borderMode=cv2.BORDER_REFLECT)
        label = f"shift:{dx},{dy}"
    elif kind == "contrast":
        gain, offset = r.uniform(0.8, 1.25), r.uniform(-25, 25)
        image = np.clip(image.astype(np.float32) * gain + offset, 0, 255).astype(np.uint8)
        label = f"contrast:x{gain:.2f}{offset:+.0f}"
    elif kind == "retouch":
        image = image.copy()
        x, y = r.randrange(width // 4, width // 2), r.randrange(height // 4, height // 2)
        patch = image[y : y + height // 6, x : x + width // 5].astype(np.float32)
        image[y : y + height // 6, x : x + width // 5] = np.clip(
            patch * np.array([r.uniform(0.8, 1.2) for _ in range(3)], np.float32), 0, 255
        ).astype(np.uint8)
        label = "retouch:patch"
    elif kind == "rotate":
        angle = r.choice([-1, 1]) * r.uniform(1.5, 4.0)
        rotation = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
        image = cv2.warpAffine(image, rotation, (width, height), borderMode=cv2.BORDER_REFLECT)
        label = f"rotate:{angle:.1f}"
    elif kind == "watermark":
        overlay = image.copy()
        text = r.choice(["SOLD", "@vintage.finds", "SALE -50%", "shop.example"])
        org = (r.randrange(4, width // 3), r.randrange(height // 2, height - 10))
        cv2.putText(overlay, text, org, cv2.FONT_HERSHEY_DUPLEX, width / 260, (255, 255, 255),
                    2, cv2.LINE_AA)  # fmt: skip
        image = cv2.addWeighted(overlay, 0.6, image, 0.4, 0)
        label = f"watermark:{text}"
    else:
        raise ValueError(f"unknown edit {kind!r}; expected one of {EDITS}")
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue(), label


def make_lookalike_set(
    n_families: int = 100,
    family_size: int = 5,
    copies_per_image: float = 0.6,
    seed: int = 0,
    edits: tuple[str, ...] = EDITS,
) -> NearDuplicateSet:
    """Originals ``photo-<i>`` and copies ``photo-<i>-<edit>``; every third original with a
    copy gets two (copy-to-copy pairs). ``copies_per_image``: copies per original, mean."""
    r = random.Random(seed)
    bench = NearDuplicateSet()
    next_edit = 0
    budget = 0.0
    for family in range(n_families):
        family_seed = r.randrange(2**31)
        plain = r.random() < PLAIN_SHARE
        for _member in range(family_size):
            index = len(bench.group) - len(bench.copies)
            pixels = render_family_member(family_seed, r.randrange(2**31), plain)
            name = f"photo-{index:05d}"
            buffer = io.BytesIO()
            Image.fromarray(pixels).save(buffer, format="JPEG", quality=92)
            bench.images[name] = buffer.getvalue()
            bench.group[name] = name
            bench.family[name] = family
            budget += copies_per_image
            count = 0
            while budget >= 1.0:
                budget -= 1.0
                count += 1
            if count and index % 3 == 0:
                count += 1  # a second copy: copy-to-copy pairs
            for _copy in range(count):
                kind = edits[next_edit % len(edits)]
                next_edit += 1
                copy = f"{name}-{kind}-{_copy}"
                bench.images[copy], bench.edit[copy] = edit_copy(pixels, kind, r)
                bench.group[copy] = name
                bench.family[copy] = family
                bench.copies.append(copy)
    return bench

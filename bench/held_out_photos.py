"""Shoppers' photos from a generator that shares no code with ``dataset/synthetic/``.

The held-out evaluation set of the garment segmentation (``segment_bench.py``): other
garment shapes (hoodie, tank top, belted coat, flared skirt, maxi dress, jumpsuit,
kimono, scarf, dungarees), drawn as smoothed jittered outlines with other fabrics
(plaid, tie-dye gradient, florals, knit, denim); other scenes (a panelled door, a
wardrobe, shelves of books, tiles, wallpaper, a bed, a parquet floor); other ways of
showing the garment (hung on a door or wardrobe, held up by a hand, laid flat); camera
tilt (a perspective warp), light falloff from a lamp or window, noise and JPEG. The true
mask is the garment's outline minus what stands in front of it. OpenCV and NumPy only.

>>> photo, mask = held_out_photo(0, 128)
>>> photo.shape, mask.shape, bool(mask.any())
((128, 128, 3), (128, 128), True)
"""

from __future__ import annotations

import math

import cv2
import numpy as np

POSES = ("hung", "held", "flat")

# Outlines in a unit frame (x right, y down), left half top to bottom, mirrored.
HALF_OUTLINES: dict[str, list[tuple[float, float]]] = {
    "hoodie": [
        (0.5, 0.0),
        (0.36, 0.02),
        (0.3, 0.14),
        (0.12, 0.2),
        (0.02, 0.62),
        (0.1, 0.66),
        (0.2, 0.38),
        (0.22, 0.95),
        (0.5, 0.97),
    ],
    "tank top": [
        (0.5, 0.12),
        (0.4, 0.1),
        (0.34, 0.0),
        (0.28, 0.02),
        (0.28, 0.2),
        (0.2, 0.34),
        (0.24, 1.0),
        (0.5, 1.0),
    ],
    "belted coat": [
        (0.5, 0.08),
        (0.38, 0.0),
        (0.2, 0.06),
        (0.06, 0.5),
        (0.1, 0.52),
        (0.2, 0.3),
        (0.24, 0.5),
        (0.18, 1.0),
        (0.5, 1.0),
    ],
    "flared skirt": [(0.5, 0.0), (0.32, 0.0), (0.3, 0.08), (0.04, 0.95), (0.2, 1.0), (0.5, 1.0)],
    "maxi dress": [
        (0.5, 0.06),
        (0.42, 0.0),
        (0.34, 0.0),
        (0.3, 0.16),
        (0.34, 0.34),
        (0.26, 0.6),
        (0.12, 1.0),
        (0.5, 1.0),
    ],
    "jumpsuit": [
        (0.5, 0.05),
        (0.36, 0.0),
        (0.22, 0.04),
        (0.14, 0.3),
        (0.22, 0.32),
        (0.26, 0.5),
        (0.22, 1.0),
        (0.4, 1.0),
        (0.47, 0.58),
        (0.5, 0.58),
    ],
    "kimono": [
        (0.5, 0.1),
        (0.4, 0.0),
        (0.0, 0.08),
        (0.0, 0.42),
        (0.22, 0.44),
        (0.24, 1.0),
        (0.5, 1.0),
    ],
    "dungarees": [
        (0.5, 0.3),
        (0.38, 0.28),
        (0.36, 0.0),
        (0.3, 0.0),
        (0.28, 0.3),
        (0.24, 0.55),
        (0.2, 1.0),
        (0.42, 1.0),
        (0.47, 0.62),
        (0.5, 0.62),
    ],
}
SCARF = [(0.4, 0.0), (0.6, 0.0), (0.62, 0.5), (0.66, 1.0), (0.44, 1.0), (0.4, 0.5)]
SKIN = [(238, 196, 168), (205, 150, 110), (150, 100, 70), (96, 62, 44)]


def _outline(kind: str, rng: np.random.Generator) -> np.ndarray:
    if kind == "scarf":
        points = np.array(SCARF, np.float64)
    else:
        half = np.array(HALF_OUTLINES[kind], np.float64)
        mirrored = half[::-1].copy()
        mirrored[:, 0] = 1.0 - mirrored[:, 0]
        points = np.vstack([half, mirrored[1:-1]])
    points += rng.normal(0, 0.012, points.shape)
    for _ in range(2):  # Chaikin corner cutting: soft, cloth-like corners
        nxt = np.roll(points, -1, axis=0)
        points = np.vstack([0.75 * points + 0.25 * nxt, 0.25 * points + 0.75 * nxt])
        points = points.reshape(2, -1, 2).transpose(1, 0, 2).reshape(-1, 2)
    return points


def _fabric(size: int, rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    base = rng.uniform(20, 240, 3).astype(np.float32)
    other = rng.uniform(20, 240, 3).astype(np.float32)
    kind = int(rng.integers(6))
    if kind == 0:  # plaid: two crossing stripe sets blended
        k = rng.uniform(6, 14)
        a = (np.sin(xx * k * math.pi * 2) > 0.3).astype(np.float32)
        b = (np.sin(yy * k * math.pi * 2) > 0.3).astype(np.float32)
        t = (0.5 * a + 0.5 * b)[..., None]
    elif kind == 1:  # tie-dye gradient
        t = ((np.sin((xx + yy) * rng.uniform(2, 6)) + 1) / 2)[..., None]
    elif kind == 2:  # florals: small blossoms scattered
        t = np.zeros((size, size, 1), np.float32)
        for _ in range(int(size * size / 300)):
            centre = tuple(int(v) for v in rng.integers(0, size, 2))
            cv2.circle(t, centre, int(rng.integers(1, 4)), 1.0, -1)
    elif kind == 3:  # knit: vertical ribs
        t = ((np.sin(xx * size * 0.9) + 1) / 4)[..., None]
    elif kind == 4:  # denim: fine diagonal noise
        t = (rng.random((size, size)) * 0.3 + 0.2 * np.sin((xx - yy) * size * 1.3))[..., None]
        other = base * 0.6
    else:  # solid
        t = np.zeros((size, size, 1), np.float32)
    fabric = base * (1 - t) + other * t
    folds = cv2.GaussianBlur(rng.normal(0, 1, (size, size)).astype(np.float32), (0, 0), size / 12)
    folds /= max(float(np.abs(folds).max()), 1e-6)
    return fabric * (1.0 + 0.18 * folds)[..., None]


def _scene(size: int, pose: str, rng: np.random.Generator) -> np.ndarray:
    out = np.empty((size, size, 3), np.float32)
    colour = rng.uniform(60, 235, 3).astype(np.float32)
    choices = {"hung": ("door", "wardrobe", "wallpaper", "tiles"),
               "held": ("shelves", "wallpaper", "tiles", "door"),
               "flat": ("bed", "parquet", "tiles")}[pose]  # fmt: skip
    kind = choices[int(rng.integers(len(choices)))]
    out[:] = colour
    if kind == "door":
        frame = int(size * rng.uniform(0.05, 0.12))
        darker = tuple(float(c) for c in colour * 0.8)
        for (x0, y0, x1, y1) in [(0.12, 0.06, 0.46, 0.45), (0.54, 0.06, 0.88, 0.45),
                                 (0.12, 0.52, 0.46, 0.95), (0.54, 0.52, 0.88, 0.95)]:  # fmt: skip
            cv2.rectangle(out, (int(x0 * size), int(y0 * size)), (int(x1 * size), int(y1 * size)),
                          darker, max(1, size // 90))  # fmt: skip
        cv2.rectangle(out, (0, 0), (frame, size), tuple(float(c) for c in colour * 0.7), -1)
        cv2.circle(out, (int(size * 0.93), size // 2), max(2, size // 40), (190, 180, 120), -1)
    elif kind == "wardrobe":
        step = int(size * rng.uniform(0.08, 0.2))
        for x in range(0, size, step):
            tone = float(rng.uniform(0.85, 1.1))
            out[:, x : x + step] = colour * tone
            out[:, x : x + 2] *= 0.55
    elif kind == "shelves":
        step = int(size * rng.uniform(0.22, 0.34))
        for y in range(step, size + step, step):
            x = 0
            while x < size:  # a row of books standing on the plank
                width = int(rng.integers(max(2, size // 40), max(3, size // 14)))
                height = int(step * rng.uniform(0.5, 0.9))
                out[max(0, y - height) : y, x : x + width] = rng.uniform(20, 240, 3)
                x += width + int(rng.integers(0, 3))
            out[y : y + max(2, size // 40)] = colour * 0.6
    elif kind == "tiles":
        step = int(size * rng.uniform(0.08, 0.18))
        out[::step] = 235.0
        out[:, ::step] = 235.0
    elif kind == "wallpaper":
        step = int(size * rng.uniform(0.1, 0.2))
        motif = tuple(float(c) for c in rng.uniform(20, 240, 3))
        for y in range(0, size + step, step):
            for x in range((y // step % 2) * step // 2, size + step, step):
                diamond = np.array([[x, y - step // 4], [x + step // 6, y], [x, y + step // 4],
                                    [x - step // 6, y]], np.int32)  # fmt: skip
                cv2.fillPoly(out, [diamond], motif)
    elif kind == "bed":
        wrinkles = cv2.GaussianBlur(rng.normal(0, 1, (size, size)).astype(np.float32), (0, 0),
                                    size / 20)  # fmt: skip
        out *= (1 + 2.5 * wrinkles)[..., None]
    else:  # parquet: short boards in a brick bond
        board_w, board_h = int(size * 0.25), int(size * 0.06)
        for row, y in enumerate(range(0, size, board_h)):
            for x in range(-(row % 2) * board_w // 2, size, board_w):
                out[y : y + board_h, max(0, x) : x + board_w] = colour * rng.uniform(0.8, 1.15)
                out[y : y + 1, max(0, x) : x + board_w] *= 0.6
    return out


def _hand(size: int, anchor: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A mask of a hand gripping the garment at ``anchor`` (pixels), arm leaving the top."""
    hand = np.zeros((size, size), np.uint8)
    width = int(size * rng.uniform(0.05, 0.08))
    top = (int(anchor[0] + rng.uniform(-0.2, 0.2) * size), 0)
    cv2.line(hand, top, (int(anchor[0]), int(anchor[1])), 1, width)
    fist = np.array([[-1.0, -0.6], [1.0, -0.7], [1.1, 0.8], [-0.9, 0.9]]) * width * 0.9 + anchor
    cv2.fillPoly(hand, [fist.astype(np.int32)], 1)
    return hand.astype(bool)


def held_out_photo(index: int, size: int = 256, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The ``index``-th photo of the set: ``(RGB uint8, true mask bool)``, deterministic."""
    rng = np.random.default_rng([seed, index])
    pose = POSES[index % len(POSES)]
    kinds = [*HALF_OUTLINES, "scarf"]
    outline = _outline(kinds[int(rng.integers(len(kinds)))], rng)
    photo = _scene(size, pose, rng)
    extent = size * rng.uniform(0.45, 0.85)
    aspect = rng.uniform(0.7, 1.1)
    angle = math.radians(rng.uniform(-90, 90) if pose == "flat" else rng.uniform(-8, 8))
    centre = size * (0.5 + rng.uniform(-0.12, 0.12, 2))
    if pose != "flat":
        centre[1] = size * rng.uniform(0.5, 0.6)
    local = (outline - 0.5) * extent * np.array([aspect, 1.0])
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    points = local @ rotation.T + centre
    garment = np.zeros((size, size), np.uint8)
    cv2.fillPoly(garment, [np.round(points).astype(np.int32)], 1)
    mask = garment.astype(bool)
    fabric = _fabric(size, rng)
    shadow = cv2.GaussianBlur(garment.astype(np.float32), (0, 0), size / 60)
    photo *= 1.0 - 0.3 * np.roll(shadow, (size // 50, size // 60), axis=(0, 1))[..., None]
    photo[mask] = fabric[mask]
    top = points[points[:, 1].argmin()]
    if pose == "hung":  # a hook and the hanger's arms above the shoulders
        colour = tuple(float(c) for c in rng.uniform(20, 200, 3))
        thick = max(1, size // 80)
        hook = (int(top[0]), int(max(0, top[1] - size * 0.08)))
        cv2.ellipse(photo, hook, (size // 30, size // 30), 0, 180, 360, colour, thick)
        cv2.line(photo, (hook[0] - int(extent * 0.3), int(top[1] + size * 0.03)),
                 (hook[0], int(top[1])), colour, thick)  # fmt: skip
        cv2.line(photo, (hook[0] + int(extent * 0.3), int(top[1] + size * 0.03)),
                 (hook[0], int(top[1])), colour, thick)  # fmt: skip
    elif pose == "held":  # one or two hands at the top corners, in front of the garment
        ys, xs = np.nonzero(mask)
        upper = ys < ys.min() + 0.15 * (ys.max() - ys.min())
        for side in range(int(rng.integers(1, 3))):
            pick = xs[upper].argmin() if side == 0 else xs[upper].argmax()
            hand = _hand(size, np.array([xs[upper][pick], ys[upper][pick]], float), rng)
            photo[hand] = np.array(SKIN[int(rng.integers(len(SKIN)))], np.float32)
            mask &= ~hand
    # Camera tilt: the phone is not parallel to the door, wall or floor.
    corners = np.array([[0, 0], [size, 0], [size, size], [0, size]], np.float32)
    tilted = corners + rng.uniform(-0.1, 0.1, (4, 2)).astype(np.float32) * size
    warp = cv2.getPerspectiveTransform(corners, tilted)
    photo = cv2.warpPerspective(photo, warp, (size, size), borderMode=cv2.BORDER_REPLICATE)
    mask = cv2.warpPerspective(mask.astype(np.uint8), warp, (size, size)) > 0
    # Light falloff from a lamp or a window somewhere off-centre, and a colour cast.
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    lamp = rng.uniform(-0.5, 1.5, 2)
    light = 1.15 - rng.uniform(0.2, 0.7) * np.minimum(np.hypot(xx - lamp[0], yy - lamp[1]), 1.2)
    photo = photo * light[..., None] * rng.uniform(0.88, 1.12, 3).astype(np.float32)
    photo += rng.normal(0, rng.uniform(1, 7), photo.shape).astype(np.float32)
    pixels = np.clip(photo, 0, 255).astype(np.uint8)
    _ok, data = cv2.imencode(".jpg", pixels[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY,
                                                         int(rng.integers(50, 92))])  # fmt: skip
    return np.ascontiguousarray(cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1]), mask

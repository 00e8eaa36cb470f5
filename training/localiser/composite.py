"""Training photos for the localiser: studio cut-outs pasted onto varied scenes.

One composite: a scene (a lit wall, a room with furniture, shelves of small colourful
objects, a texture such as tiles, planks, stripes or checks, or a border strip of a
marketplace photo), other cut-outs as
clutter behind, the garment (scaled, moved, rotated, foreshortened, recoloured), in
front of it sometimes a hand or a hanger, then camera tilt, light falloff, colour cast,
blur, sensor noise and JPEG. The true mask is the garment minus what hides it, reduced to
the network's output size. NumPy and OpenCV only; a pure function of the generator.

>>> import numpy as np
>>> from training.localiser.cutouts import Cutout
>>> garment = Cutout(np.full((30, 20, 3), 200, np.uint8), np.ones((30, 20), bool))
>>> photos, masks = composites([garment], 2, 32, np.random.default_rng(0))
>>> photos.shape, masks.shape
((2, 32, 32, 3), (2, 8, 8, 1))
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from training.localiser.cutouts import Cutout
from training.localiser.model import STRIDE

SKIN = np.array([[224, 172, 140], [198, 134, 96], [141, 85, 56], [250, 208, 178]], np.float32)
BORDER_SHARE = 0.2  # side share of a photo's border strip used as a scene
PROCEDURAL_SHARE = 0.3  # garments (and clutter) drawn from random outlines, not cut-outs


def _low_noise(size: int, cells: int, rng: np.random.Generator) -> np.ndarray:
    """Smooth noise in about -1..1: a few random values per side, upsampled."""
    import cv2

    coarse = rng.standard_normal((cells, cells)).astype(np.float32)
    return cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)


def _colour(rng: np.random.Generator, low: float = 30, high: float = 235) -> np.ndarray:
    return rng.uniform(low, high, 3).astype(np.float32)


def _wall(size: int, rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    slope = 1.0 + rng.uniform(-0.3, 0.3) * (xx - 0.5) + rng.uniform(-0.3, 0.3) * (yy - 0.5)
    shade = slope + 0.08 * _low_noise(size, int(rng.integers(2, 6)), rng)
    return _colour(rng) * shade[..., None]


def _texture(size: int, rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    u = xx * np.cos(angle) + yy * np.sin(angle)
    v = -xx * np.sin(angle) + yy * np.cos(angle)
    period = rng.uniform(4, size / 3)
    kind = int(rng.integers(4))
    if kind == 0:  # stripes
        second = (u / period) % 1.0 < rng.uniform(0.2, 0.6)
    elif kind == 1:  # checks
        second = ((u / period) % 1.0 < 0.5) ^ ((v / period) % 1.0 < 0.5)
    elif kind == 2:  # tiles: grout lines
        second = ((u / period) % 1.0 < 0.08) | ((v / period) % 1.0 < 0.08)
    else:  # planks: long boards of slightly different tones
        board = np.floor(v / period)
        second = (np.sin(board * 12.9898) * 43758.5453) % 1.0 < 0.5
    one, two = _colour(rng), _colour(rng)
    if rng.random() < 0.5:  # low contrast, as most real textures
        two = one * rng.uniform(0.7, 1.3)
    out = np.where(second[..., None], two, one)
    return out * (1.0 + 0.06 * _low_noise(size, 8, rng))[..., None]


def _room(size: int, rng: np.random.Generator) -> np.ndarray:
    import cv2

    out = _wall(size, rng)
    horizon = int(size * rng.uniform(0.4, 0.95))
    out[horizon:] = _texture(size, rng)[horizon:]
    for _ in range(int(rng.integers(1, 7))):
        x0, y0 = (int(v) for v in rng.uniform(-0.2, 1.0, 2) * size)
        w, h = (int(v) for v in rng.uniform(0.1, 0.6, 2) * size)
        colour = tuple(float(c) for c in _colour(rng, 0, 255))
        if rng.random() < 0.7:
            cv2.rectangle(out, (x0, y0), (x0 + w, y0 + h), colour, -1)
        else:
            cv2.ellipse(out, (x0, y0), (w // 2 + 1, h // 2 + 1), 0, 0, 360, colour, -1)
    return out


def _shelves(size: int, rng: np.random.Generator) -> np.ndarray:
    """Rows of many small objects in many colours (books, boxes, jars): a busy scene whose
    colourful bits the network must learn are not the garment."""
    out = _wall(size, rng)
    row = int(size * rng.uniform(0.12, 0.3))
    board = max(1, row // 8)
    for top in range(int(rng.integers(-row, 1)), size, row):
        x = int(rng.integers(-4, 1))
        while x < size:
            width = int(row * rng.uniform(0.08, 0.3))
            height = int((row - board) * rng.uniform(0.6, 1.0))
            out[
                max(0, top + row - board - height) : max(0, top + row - board),
                max(0, x) : x + width,
            ] = _colour(rng, 0, 255)
            x += width + int(rng.integers(0, 2)) * int(rng.integers(1, row // 2 + 2))
        out[max(0, top + row - board) : max(0, top + row)] = _colour(rng) * 0.8
    return out


def _border_scene(size: int, photo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A strip along one side of a real photo, stretched over the frame: its background."""
    import cv2

    height, width = photo.shape[:2]
    side = int(rng.integers(4))
    depth_y, depth_x = max(2, int(height * BORDER_SHARE)), max(2, int(width * BORDER_SHARE))
    strip = [photo[:depth_y], photo[-depth_y:], photo[:, :depth_x], photo[:, -depth_x:]][side]
    if rng.random() < 0.5:
        strip = strip[:, ::-1]
    return cv2.resize(strip.astype(np.float32), (size, size), interpolation=cv2.INTER_LINEAR)


def scene(size: int, rng: np.random.Generator, photos: Sequence[np.ndarray] = ()) -> np.ndarray:
    """A ``size`` x ``size`` float RGB background with no garment of interest in it."""
    pick = rng.random()
    if photos and pick < 0.3:
        return _border_scene(size, photos[int(rng.integers(len(photos)))], rng)
    if pick < 0.45:
        return _wall(size, rng)
    if pick < 0.65:
        return _room(size, rng)
    if pick < 0.8:
        return _shelves(size, rng)
    return _texture(size, rng)


def _recolour(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Another garment colour: hue turned, saturation and brightness scaled."""
    import cv2

    hsv = cv2.cvtColor(rgb.astype(np.uint8), cv2.COLOR_RGB2HSV).astype(np.float32)
    hsv[..., 0] = (hsv[..., 0] + rng.uniform(0, 180)) % 180
    hsv[..., 1] = np.clip(hsv[..., 1] * rng.uniform(0.4, 1.6) + rng.uniform(0, 60), 0, 255)
    hsv[..., 2] = np.clip(hsv[..., 2] * rng.uniform(0.5, 1.3), 0, 255)
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB).astype(np.float32)


def procedural_cutout(rng: np.random.Generator, side: int = 96) -> Cutout:
    """A garment-like shape the catalogue does not have: a smooth random outline (a few
    harmonics of a circle, sometimes with sleeves or legs) filled with a random fabric.
    Mixed in so the network learns "the large coherent object", not 15 silhouettes."""
    import cv2

    angles = np.linspace(0, 2 * np.pi, 48, endpoint=False)
    radius = np.ones_like(angles)
    for harmonic in range(2, 6):
        radius += rng.uniform(0, 0.25 / harmonic * 2) * np.cos(
            harmonic * angles + rng.uniform(0, 6.3)
        )
    aspect = rng.uniform(0.2, 1.0)  # down to scarves and ties
    points = np.stack([np.cos(angles) * radius * aspect, np.sin(angles) * radius], axis=1)
    scale = side / 2 / np.abs(points).max() * 0.9
    mask = np.zeros((side, side), np.uint8)
    cv2.fillPoly(mask, [np.round(points * scale + side / 2).astype(np.int32)], 1)
    for _ in range(int(rng.choice([0, 0, 2]))):  # a pair of sleeves or legs
        start = (side / 2 + rng.uniform(-0.2, 0.2) * side, side / 2 + rng.uniform(-0.3, 0.3) * side)
        end = (rng.uniform(0.02, 0.98) * side, rng.uniform(0.02, 0.98) * side)
        cv2.line(mask, (int(start[0]), int(start[1])), (int(end[0]), int(end[1])), 1,
                 int(side * rng.uniform(0.08, 0.18)))  # fmt: skip
    fabric = _texture(side, rng) if rng.random() < 0.6 else _wall(side, rng)
    garment = mask.astype(bool)
    ys, xs = np.nonzero(garment)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    rgb = np.clip(fabric, 0, 255).astype(np.uint8)
    return Cutout(rgb[y0:y1, x0:x1].copy(), garment[y0:y1, x0:x1].copy())


def _pick(cutouts: Sequence[Cutout], rng: np.random.Generator) -> Cutout:
    if rng.random() < PROCEDURAL_SHARE:
        return procedural_cutout(rng)
    return cutouts[int(rng.integers(len(cutouts)))]


def _paste(
    canvas: np.ndarray, cutout: Cutout, side: float, rng: np.random.Generator, centre_spread: float
) -> np.ndarray:
    """Draw ``cutout`` onto ``canvas`` (in place); its coverage (float, 0..1) is returned."""
    import cv2

    size = canvas.shape[0]
    height, width = cutout.mask.shape
    rgb = cutout.rgb.astype(np.float32)
    if rng.random() < 0.5:
        rgb = _recolour(rgb, rng)
    scale = side * size / max(height, width)
    turn = rng.uniform(0.75, 1.0)  # seen a little from the side
    matrix = cv2.getRotationMatrix2D((0.0, 0.0), rng.uniform(-25, 25), scale)
    matrix[0] *= turn
    centre = size * (0.5 + rng.uniform(-centre_spread, centre_spread, 2))
    matrix[:, 2] = centre - matrix[:, :2] @ np.array([width / 2, height / 2])
    if rng.random() < 0.5:
        rgb, mask = rgb[:, ::-1].copy(), cutout.mask[:, ::-1].astype(np.float32)
    else:
        mask = cutout.mask.astype(np.float32)
    layer = cv2.warpAffine(rgb, matrix, (size, size), flags=cv2.INTER_LINEAR)
    alpha = cv2.warpAffine(mask, matrix, (size, size), flags=cv2.INTER_LINEAR)[..., None]
    canvas *= 1.0 - alpha
    canvas += alpha * layer
    return alpha[..., 0]


def _hand(canvas: np.ndarray, garment: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A hand holding the garment by its edge; returns the pixels it covers."""
    import cv2

    size = canvas.shape[0]
    ys, xs = np.nonzero(garment > 0.5)
    if len(xs) == 0:
        return np.zeros(garment.shape, bool)
    pick = int(rng.integers(len(xs)))
    edge = np.array([xs[pick], ys[pick]], np.float32)
    # Move towards the garment's outside so the hand straddles its edge.
    outward = edge - np.array([xs.mean(), ys.mean()], np.float32)
    outward /= max(float(np.linalg.norm(outward)), 1.0)
    palm = edge + outward * size * 0.05
    radius = size * rng.uniform(0.04, 0.08)
    covered = np.zeros(garment.shape, np.uint8)
    centre = (int(palm[0]), int(palm[1]))
    cv2.ellipse(covered, centre, (int(radius * 1.2), int(radius)), float(rng.uniform(0, 180)),
                0, 360, 1, -1)  # fmt: skip
    for finger in range(4):
        tip = (
            palm
            - outward * radius * 2.2
            + np.array([-outward[1], outward[0]]) * (finger - 1.5) * radius * 0.5
        )
        cv2.line(covered, centre, (int(tip[0]), int(tip[1])), 1, max(1, int(radius * 0.35)))
    # The arm leaves the frame away from the garment.
    arm_end = palm + outward * size
    cv2.line(covered, centre, (int(arm_end[0]), int(arm_end[1])), 1, max(2, int(radius * 1.4)))
    skin = SKIN[int(rng.integers(len(SKIN)))] * rng.uniform(0.8, 1.1)
    region = covered.astype(bool)
    canvas[region] = skin
    return region


def _hanger(canvas: np.ndarray, garment: np.ndarray, rng: np.random.Generator) -> None:
    import cv2

    ys, xs = np.nonzero(garment > 0.5)
    if len(xs) == 0:
        return
    top, left, right = ys.min(), xs.min(), xs.max()
    mid = (left + right) // 2
    width = max(1, canvas.shape[0] // 60)
    colour = tuple(float(c) for c in _colour(rng, 10, 220))
    shoulder = int(top + (right - left) * 0.1)
    cv2.line(canvas, (int(left + (right - left) * 0.15), shoulder), (mid, int(top)), colour, width)
    cv2.line(canvas, (int(right - (right - left) * 0.15), shoulder), (mid, int(top)), colour, width)
    hook = int(max(0, top - (right - left) * 0.15))
    cv2.line(canvas, (mid, int(top)), (mid, hook), colour, width)


def _camera(
    photo: np.ndarray, mask: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Tilt (a perspective warp of photo and mask), light falloff, colour cast, blur, noise."""
    import cv2

    size = photo.shape[0]
    if rng.random() < 0.5:
        corners = np.array([[0, 0], [size, 0], [size, size], [0, size]], np.float32)
        moved = corners + rng.uniform(-0.08, 0.08, (4, 2)).astype(np.float32) * size
        warp = cv2.getPerspectiveTransform(corners, moved)
        photo = cv2.warpPerspective(photo, warp, (size, size), borderMode=cv2.BORDER_REFLECT)
        mask = cv2.warpPerspective(mask, warp, (size, size))
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    lx, ly = rng.uniform(-0.3, 1.3, 2)
    falloff = 1.0 - rng.uniform(0.0, 0.7) * np.clip(np.hypot(xx - lx, yy - ly), 0, 1.5) / 1.5
    photo = photo * falloff[..., None] * rng.uniform(0.8, 1.2, 3).astype(np.float32)
    photo *= rng.uniform(0.45, 1.25)
    sigma = float(rng.choice([0.0, 0.0, 0.6, 1.2]))
    if sigma:
        photo = cv2.GaussianBlur(photo, (0, 0), sigma)
    photo += rng.normal(0, rng.uniform(0, 6), photo.shape).astype(np.float32)
    return photo, mask


def _jpeg(photo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    import cv2

    pixels = np.clip(photo, 0, 255).astype(np.uint8)
    ok, data = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(40, 95))])
    return np.asarray(cv2.imdecode(data, cv2.IMREAD_UNCHANGED)) if ok else pixels


def composite(
    cutouts: Sequence[Cutout], size: int, rng: np.random.Generator,
    photos: Sequence[np.ndarray] = (),
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """One ``(photo uint8 (size, size, 3), mask bool (size, size))`` training pair."""
    canvas = scene(size, rng, photos)
    for _ in range(int(rng.choice([0, 0, 1, 1, 2, 3]))):  # smaller garments behind: clutter
        _paste(canvas, _pick(cutouts, rng), rng.uniform(0.15, 0.45), rng, centre_spread=0.5)
    garment = _pick(cutouts, rng)
    mask = _paste(canvas, garment, rng.uniform(0.35, 1.0), rng, centre_spread=0.18)
    if rng.random() < 0.35:
        mask = mask * ~_hand(canvas, mask, rng)
    elif rng.random() < 0.3:
        _hanger(canvas, mask, rng)
    photo, mask = _camera(canvas, mask, rng)
    return _jpeg(photo, rng), mask > 0.5


def composites(
    cutouts: Sequence[Cutout], count: int, size: int, rng: np.random.Generator,
    photos: Sequence[np.ndarray] = (),
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """``count`` photos (uint8, ``(count, size, size, 3)``) and their reduced true masks
    (float32, ``(count, size / STRIDE, size / STRIDE, 1)``, the share of garment pixels)."""
    if not cutouts:
        raise ValueError("no cut-outs to composite")
    out = size // STRIDE
    images = np.empty((count, size, size, 3), np.uint8)
    masks = np.empty((count, out, out, 1), np.float32)
    for index in range(count):
        photo, mask = composite(cutouts, size, rng, photos)
        images[index] = photo
        masks[index, ..., 0] = mask.reshape(out, STRIDE, out, STRIDE).mean(axis=(1, 3))
    return images, masks

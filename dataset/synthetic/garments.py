"""Deterministic garment photos: a house-type silhouette filled with the design's colours.

A :class:`Shot` says how the garment is photographed (studio or shopper background,
position, scale, rotation, white balance, blur, JPEG quality); :func:`render` draws a
garment under a shot with numpy + Pillow only. Everything random comes from the
``numpy.random.Generator`` passed in, so a photo is a pure function of its seed.

>>> import numpy as np
>>> look = Look(type="dresses", colours=("green", "yellow"), shades=("Kaki", "Moutarde"))
>>> shot = shopper_shot(np.random.default_rng(0))
>>> render(look, shot, 64, np.random.default_rng(1)).size
(64, 64)
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from dataset.synthetic.shapes import Drawing, Pt, silhouette

# House colour id -> RGB, the reference shade of each colour class.
HOUSE_RGB: dict[str, tuple[int, int, int]] = {
    "orange": (236, 118, 38),
    "yellow": (238, 204, 52),
    "white": (246, 246, 242),
    "green": (62, 132, 64),
    "grey": (128, 128, 130),
    "red": (192, 30, 42),
    "brown": (116, 72, 38),
    "beige": (222, 202, 166),
    "blue": (38, 72, 168),
    "black": (24, 24, 28),
    "pink": (236, 128, 172),
}
# Marketplace colour word -> RGB, so "Bleu marine" is navy and "Kaki" olive.
SHADE_RGB: dict[str, tuple[int, int, int]] = {
    "Corail": (246, 112, 88),
    "Moutarde": (206, 164, 30),
    "Kaki": (110, 112, 52),
    "Menthe": (150, 214, 170),
    "Anthracite": (62, 64, 68),
    "Bordeaux": (112, 20, 40),
    "Camel": (194, 142, 82),
    "Chocolat": (82, 48, 28),
    "Crème": (242, 232, 204),
    "Écru": (232, 224, 200),
    "Bleu marine": (22, 32, 84),
    "Turquoise": (40, 188, 196),
    "Fuchsia": (214, 36, 142),
}
PATTERNS = ("stripes", "blocks", "dots", "checks")


@dataclass(frozen=True)
class Look:
    """What a garment looks like: house type, colours (house ids), rendering choices."""

    type: str
    colours: tuple[str, ...]
    shades: tuple[str, ...] = ()  # the marketplace word of each colour, "" for the house shade
    materials: tuple[str, ...] = ("cotton",)
    gender: str = "women"
    pattern: str = "stripes"  # used when there are two colours
    variant: int = 0  # pattern scale and small style choices

    def rgb(self) -> list[np.ndarray]:
        out = []
        for i, colour in enumerate(self.colours or ("grey",)):
            shade = self.shades[i] if i < len(self.shades) else ""
            out.append(np.array(SHADE_RGB.get(shade, HOUSE_RGB[colour]), dtype=np.float32))
        return out


@dataclass(frozen=True)
class Shot:
    """How the garment is photographed; fractions are of the image side."""

    background: str = "studio"  # "studio", "plain" (a seller's wall or sheet) or "cluttered"
    scale: float = 0.86  # garment box side
    dx: float = 0.0
    dy: float = 0.0
    angle: float = 0.0  # degrees, counter-clockwise
    centre: Pt = (0.5, 0.5)  # garment point placed at the image centre (close-ups)
    gains: tuple[float, float, float] = (1.0, 1.0, 1.0)  # white balance
    blur: float = 0.0  # Gaussian radius at 128 px
    quality: int = 92
    details: bool = True  # False for a back view: seams, collar and buttons hidden


def studio_shot(view: int, rng: np.random.Generator) -> Shot:
    """A catalogue view: 0 front, 1 front on a model stand, 2 back, 3-4 close-ups."""
    tone = float(rng.uniform(0.98, 1.02))
    gains = (tone, 1.0, 2.0 - tone)
    if view == 0:
        return Shot(scale=0.86, gains=gains)
    if view == 1:
        return Shot(scale=0.74, dy=0.03, angle=float(rng.uniform(-4, 4)), gains=gains)
    if view == 2:
        return Shot(scale=0.84, gains=gains, details=False)
    centre = (0.5, 0.3) if view == 3 else (0.42, 0.55)
    return Shot(scale=2.2, centre=centre, gains=gains)


def shopper_shot(rng: np.random.Generator, plain_share: float = 0.3) -> Shot:
    """A seller's photo: other background, off-centre, tilted, colour cast, soft, low quality."""
    background = "plain" if rng.random() < plain_share else "cluttered"
    return Shot(
        background=background,
        scale=float(rng.uniform(0.55, 0.95)),
        dx=float(rng.uniform(-0.12, 0.12)),
        dy=float(rng.uniform(-0.1, 0.1)),
        angle=float(rng.uniform(-20, 20)),
        gains=tuple(float(g) for g in rng.uniform(0.86, 1.14, 3)),  # type: ignore[arg-type]
        blur=float(rng.choice([0.0, 0.0, 0.5, 1.0])),
        quality=int(rng.integers(45, 90)),
    )


@lru_cache(maxsize=16)
def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    axis = (np.arange(size, dtype=np.float32) + 0.5) / size
    return np.meshgrid(axis, axis)


class _Frame:
    """Maps garment-frame points (unit box) to pixels and pixels back to the garment frame."""

    def __init__(self, shot: Shot, size: int) -> None:
        self.size = size
        self.side = shot.scale * size
        self.cx = (0.5 + shot.dx) * size
        self.cy = (0.5 + shot.dy) * size
        self.centre = shot.centre
        rad = math.radians(shot.angle)
        self.cos, self.sin = math.cos(rad), math.sin(rad)

    def to_pixels(self, points: list[Pt], factor: int = 1) -> list[Pt]:
        out = []
        for x, y in points:
            u, v = (x - self.centre[0]) * self.side, (y - self.centre[1]) * self.side
            out.append(
                (
                    (self.cx + u * self.cos + v * self.sin) * factor,
                    (self.cy - u * self.sin + v * self.cos) * factor,
                )
            )
        return out

    def to_garment(self) -> tuple[np.ndarray, np.ndarray]:
        gx, gy = _grid(self.size)
        px, py = gx * self.size - self.cx, gy * self.size - self.cy
        u = (px * self.cos - py * self.sin) / self.side + self.centre[0]
        v = (px * self.sin + py * self.cos) / self.side + self.centre[1]
        return u, v


def _fabric(look: Look, u: np.ndarray, v: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Colour pattern times a material texture, in garment coordinates."""
    colours = look.rgb()
    c0 = colours[0]
    rgb = np.broadcast_to(c0, (*u.shape, 3)).copy()
    if len(colours) > 1:
        c1 = colours[1]
        k = 6 + 2 * (look.variant % 4)
        if look.pattern == "stripes":
            second = (v * k) % 1.0 < 0.5
        elif look.pattern == "blocks":
            second = v > 0.5 if look.variant % 2 else u > 0.5
        elif look.pattern == "dots":
            second = ((u * k) % 1.0 - 0.5) ** 2 + ((v * k) % 1.0 - 0.5) ** 2 < 0.07
        else:
            second = ((u * k) % 1.0 < 0.5) ^ ((v * k) % 1.0 < 0.5)
        rgb[second] = c1
    material = look.materials[0] if look.materials else "cotton"
    shade = 1.0 - 0.18 * ((u - 0.5) * 2.0) ** 2  # a rounded body catches less light at the sides
    noise = rng.standard_normal(u.shape).astype(np.float32)
    if material in ("wool", "cashmere"):
        shade = shade + 0.07 * np.sin(u * 2 * math.pi * 45) + 0.03 * noise
    elif material == "cotton" and look.type == "jeans":
        shade = shade + 0.08 * np.sin((u + v) * 2 * math.pi * 70) + 0.05 * noise
    elif material == "leather":
        gloss = np.exp(-((u - 0.36) ** 2 + (v - 0.3) ** 2) / 0.012)
        shade = shade * 0.85 + 0.35 * gloss + 0.01 * noise
    elif material in ("silk", "viscose", "polyester", "polyamide", "elastane"):
        shade = shade + 0.1 * np.sin((u * 2.0 + v * 3.0) * 2 * math.pi) + 0.015 * noise
    elif material == "linen":
        rows = rng.standard_normal((u.shape[0], 1)).astype(np.float32)
        shade = shade + 0.05 * rows + 0.03 * noise
    elif material == "other":
        shade = shade * 0.9 + 0.06 * noise
    else:
        shade = shade + 0.035 * noise
    return rgb * shade[..., None]


def _background(shot: Shot, size: int, rng: np.random.Generator) -> Image.Image:
    gx, gy = _grid(size)
    if shot.background == "studio":
        tone = float(rng.uniform(228, 248))
        base = tone - 10.0 * gy
        return Image.fromarray(np.repeat(base[..., None], 3, axis=2).astype(np.uint8))
    wall = (rng.uniform(80, 230) * rng.uniform(0.85, 1.15, 3)).astype(np.float32)
    if shot.background == "plain":
        folds = 8.0 * np.sin(gx * rng.uniform(3, 9) + gy * rng.uniform(2, 6))
        arr = wall * (1.0 + folds[..., None] / 100.0) + rng.normal(0, 4, (size, size, 1))
        return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    floor = (rng.uniform(50, 200) * rng.uniform(0.75, 1.25, 3)).astype(np.float32)
    horizon = float(rng.uniform(0.45, 0.8))
    arr = wall * (0.85 + 0.3 * gx[..., None])
    planks = 1.0 + 0.12 * (np.sin(gx * size / rng.uniform(4, 10)) > 0.9)
    arr = np.where((gy > horizon)[..., None], floor * planks[..., None], arr)
    image = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(3, 9))):
        x0, y0 = rng.uniform(-0.2, 1.0, 2) * size
        w, h = rng.uniform(0.1, 0.5, 2) * size
        fill = tuple(int(c) for c in rng.integers(0, 256, 3))
        box = (float(x0), float(y0), float(x0 + w), float(y0 + h))
        (draw.rectangle if rng.random() < 0.6 else draw.ellipse)(box, fill=fill)
    noisy = np.asarray(image, dtype=np.float32) + rng.normal(0, 6, (size, size, 3))
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def _mask(drawing: Drawing, frame: _Frame, size: int) -> Image.Image:
    # Drawn at twice the size and reduced: anti-aliased edges for little cost.
    mask = Image.new("L", (size * 2, size * 2), 0)
    draw = ImageDraw.Draw(mask)
    for poly in drawing.body:
        draw.polygon(frame.to_pixels(poly, 2), fill=255)
    return mask.reduce(2)


def _marks(image: Image.Image, drawing: Drawing, frame: _Frame, base: np.ndarray) -> None:
    draw = ImageDraw.Draw(image)
    for mark in drawing.marks:
        fill: tuple[int, ...]
        if isinstance(mark.shade, tuple):
            fill = mark.shade
        else:
            # Light garments get darker seams, dark ones lighter: seams stay visible.
            factor = mark.shade if base.mean() > 60 else 2.0 - mark.shade + 0.6
            fill = tuple(int(c) for c in np.clip(base * factor, 0, 255))
        points = frame.to_pixels(mark.points)
        width = max(1, round(mark.width * frame.side))
        if mark.kind == "line":
            draw.line(points, fill=fill, width=width)
        elif mark.kind == "poly":
            draw.polygon(points, fill=fill)
        else:
            (x, y), r = points[0], mark.width * frame.side
            draw.ellipse((x - r, y - r, x + r, y + r), fill=fill)


def garment_mask(look: Look, size: int, shot: Shot | None = None) -> np.ndarray:
    """Boolean mask of the garment as :func:`render` places it (ground truth for tests)."""
    shot = shot or Shot()
    frame = _Frame(shot, size)
    return np.asarray(_mask(silhouette(look.type, look.gender), frame, size)) > 127


def render(look: Look, shot: Shot, size: int, rng: np.random.Generator) -> Image.Image:
    """Draw ``look`` photographed as ``shot`` on a ``size`` x ``size`` RGB image."""
    if size < 8:
        raise ValueError(f"image size must be at least 8 pixels. Received: size={size}")
    drawing = silhouette(look.type, look.gender)
    frame = _Frame(shot, size)
    background = _background(shot, size, rng)
    if shot.background == "studio":
        # A soft contact shadow, as a flat-lay studio shot has.
        shadow = _mask(drawing, _Frame(replace(shot, dy=shot.dy + 0.015), size), size)
        shadow = shadow.filter(ImageFilter.GaussianBlur(size / 50))
        dim = 1.0 - 0.25 * np.asarray(shadow, dtype=np.float32)[..., None] / 255.0
        background = Image.fromarray((np.asarray(background) * dim).astype(np.uint8))
    u, v = frame.to_garment()
    fabric = np.clip(_fabric(look, u, v, rng), 0, 255).astype(np.uint8)
    image = Image.composite(Image.fromarray(fabric), background, _mask(drawing, frame, size))
    if shot.details:
        _marks(image, drawing, frame, look.rgb()[0])
    arr = np.asarray(image, dtype=np.float32) * np.asarray(shot.gains, dtype=np.float32)
    image = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    if shot.blur > 0:
        image = image.filter(ImageFilter.GaussianBlur(shot.blur * size / 128))
    return image


def retouch(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """The same photo uploaded again: shifted by a few pixels, re-cropped, slightly re-lit."""
    size = image.size[0]
    shift = int(rng.integers(1, max(2, size // 40) + 1))
    box = (shift, shift, size, size) if rng.random() < 0.5 else (0, 0, size - shift, size - shift)
    out = image.crop(box).resize(image.size, Image.Resampling.BILINEAR)
    gain = float(rng.uniform(0.95, 1.05))
    return Image.fromarray(
        np.clip(np.asarray(out, dtype=np.float32) * gain, 0, 255).astype("uint8")
    )


def to_jpeg(image: Image.Image, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=int(quality))
    return buf.getvalue()

"""Flat-lay silhouettes of the 15 house garment types, in a unit box.

Each builder returns a :class:`Drawing`: the polygons filled with the design's fabric,
and marks drawn on top (collars, seams, buttons, quilting) that make types with a
similar outline (t-shirt / polo, trousers / jeans) tell apart. Coordinates are in the
garment's own frame, ``(0, 0)`` top-left to ``(1, 1)`` bottom-right, centred on
``x = 0.5``; the renderer places, scales and rotates them.

>>> drawing = silhouette("t-shirts")
>>> len(drawing.body) >= 1
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

Pt = tuple[float, float]
# A mark's shade: a multiplier of the garment's first colour, or an absolute RGB.
Shade = float | tuple[int, int, int]
STITCH: tuple[int, int, int] = (214, 160, 60)
BUTTON: tuple[int, int, int] = (60, 55, 50)


@dataclass
class Mark:
    kind: str  # "line", "poly" or "dot"
    points: list[Pt]
    width: float  # line width or dot radius, in garment units
    shade: Shade


@dataclass
class Drawing:
    body: list[list[Pt]] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)

    def line(self, points: list[Pt], width: float = 0.012, shade: Shade = 0.6) -> None:
        self.marks.append(Mark("line", points, width, shade))

    def poly(self, points: list[Pt], shade: Shade = 0.75) -> None:
        self.marks.append(Mark("poly", points, 0.0, shade))

    def dot(self, centre: Pt, radius: float = 0.012, shade: Shade = BUTTON) -> None:
        self.marks.append(Mark("dot", [centre], radius, shade))


def _mirror(points: list[Pt]) -> list[Pt]:
    return [(1.0 - x, y) for x, y in points]


def _symmetric(left: list[Pt]) -> list[Pt]:
    """Close a polygon from its left half (listed top to bottom, ending on the axis)."""
    right = _mirror(left)
    return left + right[::-1]


def _buttons(d: Drawing, x: float, y0: float, y1: float, n: int) -> None:
    for i in range(n):
        d.dot((x, y0 + (y1 - y0) * i / max(n - 1, 1)))


def _top(
    d: Drawing,
    *,
    top: float = 0.12,
    hem: float = 0.8,
    sleeve: float = 0.55,
    shoulder: float = 0.22,
    fit: float = 0.0,
    flare: float = 0.0,
    neck_depth: float = 0.05,
    sleeve_width: float = 0.1,
    opening: float = 0.0,
) -> None:
    """A top: body with a neckline, two sleeves of length ``sleeve``, an open front."""
    sw = shoulder
    waist_w = sw - 0.02 - fit
    hem_w = sw - 0.01 - fit / 2 + flare
    arm_y = top + 0.2
    body = [
        (0.5, top + neck_depth),
        (0.43, top),
        (0.5 - sw, top + 0.04),
        (0.5 - sw + 0.01, arm_y),
        (0.5 - waist_w, (arm_y + hem) / 2),
        (0.5 - hem_w, hem),
        (0.5, hem),
    ]
    if opening > 0:
        # Two front panels with a gap between them (an open cardigan).
        half = [(0.5 - opening, top + neck_depth), *body[1:-1], (0.5 - opening, hem)]
        d.body.extend([half, _mirror(half)])
    else:
        d.body.append(_symmetric(body)[:-1])
    shoulder_pt = (0.5 - sw, top + 0.04)
    armpit = (0.5 - sw + 0.01, arm_y)
    out = (0.5 - sw - 0.3 * sleeve, top + 0.04 + 0.95 * sleeve)
    inner = (out[0] + sleeve_width * 0.9, out[1] + sleeve_width * 0.35)
    left = [shoulder_pt, out, inner, armpit]
    d.body.append(left)
    d.body.append(_mirror(left))


def _bottom(
    d: Drawing,
    *,
    top: float = 0.06,
    waist: float = 0.17,
    hip: float = 0.2,
    crotch: float = 0.4,
    hem: float = 0.95,
    leg_out: float = 0.19,
    gap: float = 0.03,
) -> None:
    left = [
        (0.5 - waist, top),
        (0.5 - hip, top + 0.14),
        (0.5 - leg_out, hem),
        (0.5 - gap, hem),
        (0.5, crotch),
    ]
    d.body.append(_symmetric(left)[:-1])


def _tshirt(d: Drawing, fit: float) -> None:
    _top(d, sleeve=0.2, fit=fit, sleeve_width=0.12, hem=0.72)
    d.line([(0.43, 0.12), (0.5, 0.17), (0.57, 0.12)], 0.015, 0.7)


def _polo(d: Drawing, fit: float) -> None:
    _top(d, sleeve=0.15, fit=fit + 0.02, neck_depth=0.02, sleeve_width=0.09, hem=0.88)
    d.body.append([(0.42, 0.07), (0.58, 0.07), (0.6, 0.13), (0.4, 0.13)])  # collar stand
    d.line([(0.3, 0.86), (0.3, 0.8)], 0.012, 0.6)
    d.line([(0.7, 0.86), (0.7, 0.8)], 0.012, 0.6)
    d.poly([(0.43, 0.11), (0.5, 0.15), (0.47, 0.22), (0.4, 0.16)], 0.8)
    d.poly([(0.57, 0.11), (0.5, 0.15), (0.53, 0.22), (0.6, 0.16)], 0.8)
    d.line([(0.5, 0.15), (0.5, 0.3)], 0.01, 0.55)
    _buttons(d, 0.5, 0.19, 0.27, 2)


def _shirt(d: Drawing, fit: float) -> None:
    _top(d, sleeve=0.56, fit=fit, neck_depth=0.02, sleeve_width=0.08, hem=0.8, shoulder=0.2)
    d.body.append([(0.41, 0.06), (0.59, 0.06), (0.61, 0.13), (0.39, 0.13)])  # collar stand
    d.body.append([(0.31, 0.78), (0.69, 0.78), (0.62, 0.9), (0.5, 0.93), (0.38, 0.9)])  # tail
    d.poly([(0.43, 0.1), (0.5, 0.15), (0.45, 0.2), (0.39, 0.14)], 0.85)
    d.poly([(0.57, 0.1), (0.5, 0.15), (0.55, 0.2), (0.61, 0.14)], 0.85)
    d.line([(0.5, 0.15), (0.5, 0.8)], 0.008, 0.6)
    _buttons(d, 0.52, 0.2, 0.74, 6)
    d.line([(0.19, 0.6), (0.27, 0.63)], 0.02, 0.7)
    d.line([(0.81, 0.6), (0.73, 0.63)], 0.02, 0.7)


def _blouse(d: Drawing, fit: float) -> None:
    _top(d, sleeve=0.38, fit=fit + 0.03, flare=0.08, neck_depth=0.16, sleeve_width=0.16, hem=0.68)
    d.line([(0.43, 0.12), (0.5, 0.26), (0.57, 0.12)], 0.012, 0.7)
    d.line([(0.3, 0.46), (0.36, 0.46)], 0.02, 0.75)
    d.line([(0.7, 0.46), (0.64, 0.46)], 0.02, 0.75)
    for i in range(6):
        x = 0.3 + 0.08 * i
        d.line([(x, 0.7), (x + 0.03, 0.74)], 0.01, 0.7)


def _sweater(d: Drawing, fit: float) -> None:
    _top(d, sleeve=0.64, shoulder=0.26, fit=-0.02, flare=-0.04, sleeve_width=0.13, hem=0.76)
    d.line([(0.43, 0.12), (0.5, 0.17), (0.57, 0.12)], 0.03, 0.72)
    d.line([(0.28, 0.79), (0.72, 0.79)], 0.04, 0.72)
    d.line([(0.08, 0.7), (0.18, 0.73)], 0.04, 0.72)
    d.line([(0.92, 0.7), (0.82, 0.73)], 0.04, 0.72)


def _cardigan(d: Drawing, fit: float) -> None:
    _top(
        d,
        sleeve=0.58,
        shoulder=0.22,
        fit=fit,
        neck_depth=0.3,
        sleeve_width=0.1,
        hem=0.9,
        opening=0.03,
    )
    d.line([(0.43, 0.12), (0.5, 0.42), (0.5, 0.84)], 0.03, 0.68)
    _buttons(d, 0.52, 0.46, 0.78, 4)
    d.line([(0.29, 0.83), (0.71, 0.83)], 0.035, 0.72)
    d.line([(0.31, 0.62), (0.41, 0.62)], 0.01, 0.6)


def _jacket(d: Drawing, fit: float) -> None:
    _top(d, sleeve=0.6, shoulder=0.25, fit=fit, neck_depth=0.25, hem=0.97, flare=0.05)
    d.poly([(0.43, 0.12), (0.5, 0.38), (0.44, 0.3), (0.36, 0.18)], 0.7)
    d.poly([(0.57, 0.12), (0.5, 0.38), (0.56, 0.3), (0.64, 0.18)], 0.7)
    d.line([(0.5, 0.38), (0.5, 0.93)], 0.01, 0.55)
    _buttons(d, 0.46, 0.45, 0.7, 3)
    _buttons(d, 0.54, 0.45, 0.7, 3)
    d.line([(0.32, 0.66), (0.42, 0.66)], 0.012, 0.6)
    d.line([(0.68, 0.66), (0.58, 0.66)], 0.012, 0.6)


def _puffer(d: Drawing, fit: float) -> None:
    _top(d, sleeve=0.5, shoulder=0.28, fit=-0.05, sleeve_width=0.19, hem=0.7, neck_depth=0.0)
    d.body.append([(0.38, 0.0), (0.62, 0.0), (0.68, 0.16), (0.32, 0.16)])  # hood
    for i in range(6):
        y = 0.22 + 0.08 * i
        d.line([(0.26, y), (0.74, y)], 0.02, 0.6)
    for i in range(5):
        t = 0.2 + 0.16 * i
        for side in (0, 1):
            x0 = 0.26 - 0.17 * t
            x1 = x0 - 0.12
            pts = [(x0, 0.16 + 0.56 * t), (x1 + 0.05, 0.2 + 0.56 * t)]
            d.line(_mirror(pts) if side else pts, 0.02, 0.6)
    d.line([(0.5, 0.02), (0.5, 0.7)], 0.012, 0.5)


def _dress(d: Drawing, fit: float) -> None:
    _top(d, sleeve=0.08, shoulder=0.16, fit=0.03, hem=0.42, neck_depth=0.1, sleeve_width=0.06)
    left = [(0.5 - 0.12, 0.4), (0.5 - 0.34, 0.95), (0.5, 0.95)]
    d.body.append(_symmetric(left)[:-1])
    d.line([(0.38, 0.41), (0.62, 0.41)], 0.02, 0.7)
    for x in (0.36, 0.5, 0.64):
        d.line([(0.5 + (x - 0.5) * 0.4, 0.45), (x, 0.93)], 0.008, 0.8)


def _skirt(d: Drawing, fit: float) -> None:
    left = [(0.5 - 0.17, 0.18), (0.5 - 0.3, 0.78), (0.5, 0.78)]
    d.body.append(_symmetric(left)[:-1])
    d.line([(0.33, 0.2), (0.67, 0.2)], 0.045, 0.7)
    for i in range(7):
        x = 0.26 + 0.08 * i
        d.line([(0.5 + (x - 0.5) * 0.6, 0.24), (x, 0.77)], 0.008, 0.75)


def _trousers(d: Drawing, fit: float) -> None:
    _bottom(d, leg_out=0.23, gap=0.02, hip=0.21)
    d.line([(0.33, 0.07), (0.67, 0.07)], 0.035, 0.72)
    d.line([(0.4, 0.22), (0.4, 0.93)], 0.008, 0.8)
    d.line([(0.6, 0.22), (0.6, 0.93)], 0.008, 0.8)


def _jeans(d: Drawing, fit: float) -> None:
    _bottom(d, leg_out=0.13, gap=0.06, hip=0.19)
    d.line([(0.33, 0.07), (0.67, 0.07)], 0.03, 0.7)
    d.line([(0.5, 0.09), (0.5, 0.3), (0.46, 0.34)], 0.01, STITCH)
    d.line([(0.34, 0.11), (0.42, 0.22)], 0.01, STITCH)
    d.line([(0.66, 0.11), (0.58, 0.22)], 0.01, STITCH)
    d.line([(0.32, 0.25), (0.35, 0.93)], 0.008, STITCH)
    d.line([(0.68, 0.25), (0.65, 0.93)], 0.008, STITCH)
    d.dot((0.5, 0.075), 0.015, STITCH)


def _shorts(d: Drawing, fit: float) -> None:
    _bottom(d, top=0.22, crotch=0.5, hem=0.7, leg_out=0.24, gap=0.02, hip=0.21)
    d.line([(0.33, 0.23), (0.67, 0.23)], 0.035, 0.7)
    d.line([(0.27, 0.66), (0.48, 0.66)], 0.01, 0.7)
    d.line([(0.73, 0.66), (0.52, 0.66)], 0.01, 0.7)


def _leggings(d: Drawing, fit: float) -> None:
    _bottom(d, waist=0.14, hip=0.16, leg_out=0.09, gap=0.035, crotch=0.36, hem=0.97)
    d.line([(0.36, 0.07), (0.64, 0.07)], 0.02, 0.8)


def _set(d: Drawing, fit: float) -> None:
    # A matching top and bottom, side by side as a seller lays them out.
    top, bottom = Drawing(), Drawing()
    _top(top, sleeve=0.2, fit=fit, hem=0.7)
    _bottom(bottom, leg_out=0.2)
    for part, dx in ((top, -0.24), (bottom, 0.24)):
        for poly in part.body:
            d.body.append([(0.5 + (x - 0.5) * 0.5 + dx, 0.5 + (y - 0.5) * 0.75) for x, y in poly])
    d.line([(0.66, 0.12), (0.82, 0.12)], 0.02, 0.7)
    d.line([(0.18, 0.2), (0.26, 0.23), (0.34, 0.2)], 0.012, 0.7)


BUILDERS: dict[str, Callable[[Drawing, float], None]] = {
    "sweaters": _sweater,
    "t-shirts": _tshirt,
    "jackets-coats": _jacket,
    "trousers": _trousers,
    "skirts": _skirt,
    "jeans": _jeans,
    "sets": _set,
    "shirts": _shirt,
    "shorts": _shorts,
    "puffer-jackets": _puffer,
    "cardigans": _cardigan,
    "dresses": _dress,
    "blouses": _blouse,
    "polos": _polo,
    "leggings": _leggings,
}

# Proportions by wearer: (width, length) factors and extra waist fit. Children's
# clothes are stubbier, men's boxier, women's more fitted: a weak but real cue.
PROPORTIONS: dict[str, tuple[float, float, float]] = {
    "men": (1.08, 1.0, -0.015),
    "women": (0.94, 1.0, 0.025),
    "child": (1.04, 0.8, 0.0),
    "girl": (1.0, 0.8, 0.015),
    "boy": (1.06, 0.8, -0.01),
    "baby": (1.15, 0.66, -0.02),
}


def silhouette(garment_type: str, gender: str = "women") -> Drawing:
    """The drawing of ``garment_type`` (a house type id) as worn by ``gender``."""
    try:
        builder = BUILDERS[garment_type]
    except KeyError:
        raise ValueError(
            f"unknown garment type; expected one of {sorted(BUILDERS)}. Received: {garment_type!r}"
        ) from None
    width, length, fit = PROPORTIONS.get(gender, PROPORTIONS["women"])
    drawing = Drawing()
    builder(drawing, fit)

    def scale(points: list[Pt]) -> list[Pt]:
        return [(0.5 + (x - 0.5) * width, 0.5 + (y - 0.5) * length) for x, y in points]

    drawing.body = [scale(poly) for poly in drawing.body]
    for mark in drawing.marks:
        mark.points = scale(mark.points)
        mark.width *= width
    return drawing

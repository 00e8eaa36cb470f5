"""The picture people look at: the query beside its top results, scores and hits marked."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

logger = logging.getLogger(__name__)

TILE = 180  # result tile side, pixels
QUERY_TILE = 2 * TILE + 34  # the query spans two result rows (captions included)
CAPTION = 34
PAD = 12
HEADER = 40
HIT = (30, 160, 60)
MISS = (210, 210, 210)
INK = (30, 30, 30)
MUTED = (110, 110, 110)


@dataclass
class Result:
    rank: int
    score: float
    label: str  # product id shown under the tile
    image: bytes | None  # None: unavailable, a grey tile is drawn
    hit: bool | None = None  # None: unknown (no pair given), drawn neutral


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has a single bitmap size
        return ImageFont.load_default()


def _fit(data: bytes | Image.Image | None, side: int) -> Image.Image:
    canvas = Image.new("RGB", (side, side), (245, 245, 245))
    try:
        image = data if isinstance(data, Image.Image) else Image.open(io.BytesIO(data or b""))
        image = ImageOps.contain(image.convert("RGB"), (side, side))
    except (OSError, ValueError):
        draw = ImageDraw.Draw(canvas)
        draw.text(
            (side // 2, side // 2), "image unavailable", fill=MUTED, anchor="mm", font=_font(13)
        )
        return canvas
    canvas.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
    return canvas


def _shorten(text: str, limit: int = 22) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_grid(
    query: np.ndarray,
    results: Sequence[Result],
    title: str,
    columns: int = 5,
    query_note: str = "",
) -> Image.Image:
    """One image: a header line, the query (left, large), results in rows of ``columns``."""
    columns = max(1, min(columns, len(results) or 1))
    rows = max(2, -(-len(results) // columns))
    width = PAD + QUERY_TILE + 2 * PAD + columns * (TILE + PAD)
    height = HEADER + PAD + max(QUERY_TILE + CAPTION, rows * (TILE + CAPTION + PAD)) + PAD
    sheet = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(sheet)
    draw.text((PAD, HEADER // 2), title, fill=INK, anchor="lm", font=_font(18))

    top = HEADER + PAD
    sheet.paste(_fit(Image.fromarray(query), QUERY_TILE), (PAD, top))
    draw.rectangle(
        (PAD - 1, top - 1, PAD + QUERY_TILE, top + QUERY_TILE), outline=(60, 90, 200), width=3
    )
    caption = "query" + (f" ({query_note})" if query_note else "")
    draw.text((PAD, top + QUERY_TILE + 8), caption, fill=INK, font=_font(15))

    left = PAD + QUERY_TILE + 2 * PAD
    for i, result in enumerate(results):
        x = left + (i % columns) * (TILE + PAD)
        y = top + (i // columns) * (TILE + CAPTION + PAD)
        sheet.paste(_fit(result.image, TILE), (x, y))
        colour = HIT if result.hit else MISS
        draw.rectangle(
            (x - 2, y - 2, x + TILE + 1, y + TILE + 1), outline=colour, width=4 if result.hit else 1
        )
        head = f"#{result.rank}  {result.score:.3f}" + ("  MATCH" if result.hit else "")
        draw.text((x, y + TILE + 4), head, fill=HIT if result.hit else INK, font=_font(14))
        draw.text((x, y + TILE + 19), _shorten(result.label), fill=MUTED, font=_font(12))
    return sheet


def save_png(image: Image.Image, write: Callable[[bytes], None]) -> None:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    write(buffer.getvalue())

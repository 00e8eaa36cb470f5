"""Open untrusted image bytes safely: a pixel limit, and one reason for every failure.

Crawled photos can be anything: truncated downloads, HTML error pages saved as ``.jpg``,
decompression bombs (a few kB that expand to gigapixels). Stages that read many images
(hashing, segmentation) call :func:`open_image` and count :class:`BadImage` instead of
crashing halfway.

>>> try:
...     open_image(b"<html>not found</html>", max_pixels=10**6)
... except BadImage as exc:
...     print(exc.reason)
not an image
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, UnidentifiedImageError

DEFAULT_MAX_PIXELS = 40_000_000  # a 40-megapixel photo is already more than any listing shows


class BadImage(Exception):
    """An image that cannot be used; ``reason`` is a short label for reports."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def open_image(
    data: bytes,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    mode: str | None = None,
    draft: int | None = None,
) -> Image.Image:
    """Decode ``data`` fully (so truncation shows here), optionally reduced and converted.

    ``draft`` asks the JPEG decoder for a DCT-domain downscale to the smallest scale
    (1/2, 1/4, 1/8) that keeps both sides >= ``draft`` pixels: several times faster than
    decoding the full image and resizing it. Other formats decode at full size.
    """
    if not data:
        raise BadImage("empty file")
    with warnings.catch_warnings():
        # Our own limit below replaces PIL's global one (a warning, then an error at 2x).
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image: Image.Image = Image.open(io.BytesIO(data))
        except UnidentifiedImageError:
            raise BadImage("not an image") from None
        except Image.DecompressionBombError:
            raise BadImage("decompression bomb") from None
        except (OSError, ValueError, SyntaxError) as exc:
            raise BadImage(_label(exc)) from None
    width, height = image.size
    if width * height > max_pixels:
        raise BadImage(f"decompression bomb ({width}x{height} > {max_pixels} pixels)")
    try:
        if draft and image.format == "JPEG":
            image.draft(mode if mode in ("L", "RGB") else None, (draft, draft))
        image.load()
        if mode and image.mode != mode:
            image = image.convert(mode)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise BadImage(_label(exc)) from None
    image.info["original_size"] = (width, height)
    return image


def _label(exc: Exception) -> str:
    kind = "truncated" if "truncat" in str(exc).lower() else "corrupt"
    return f"{kind} ({exc})"

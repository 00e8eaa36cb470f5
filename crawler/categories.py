"""The categories file of a crawl: one category slug a line (``--categories-file``, the Job's ConfigMap)."""

from __future__ import annotations

import re
from pathlib import Path

from dataset.core.errors import UserError

CATEGORY_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~%-]*$")


def parse_categories(text: str, source: str) -> list[str]:
    """One slug a line; blank lines and ``#`` comments are skipped."""
    categories = []
    for number, line in enumerate(text.splitlines(), start=1):
        slug = line.split("#", 1)[0].strip()
        if not slug:
            continue
        if not CATEGORY_SLUG.match(slug):
            raise UserError(f"{source}:{number}: not a category slug: {line.strip()!r}")
        categories.append(slug)
    if not categories:
        raise UserError(f"{source}: no category listed")
    return categories


def read_categories(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot read categories file {path}: {exc.strerror}") from exc
    return parse_categories(text, str(path))

"""Small JPEG thumbnails of store images, inline as data URIs, under one byte budget."""

from __future__ import annotations

import base64
import io
import logging
from typing import Any

from PIL import Image

from dataset.core.store import Store
from dataset.report.html import esc

logger = logging.getLogger(__name__)


class Thumbnails:
    """``tag(key, caption)`` -> a ``<figure>``; a grey tile when the image cannot be read
    or the budget (``budget_bytes`` of base64 for the whole page) is spent."""

    def __init__(self, store: Store, size: int, quality: int, budget_bytes: int) -> None:
        self.store = store
        self.size = size
        self.quality = quality
        self.budget = budget_bytes
        self.spent = 0
        self.count = 0
        self.over_budget = 0
        self._cache: dict[str, str | None] = {}

    def tag(self, key: Any, caption: str = "", cls: str = "") -> str:
        uri = self._data_uri(key)
        title = esc(key)
        if uri:
            img = f'<img src="{uri}" title="{title}" alt="{title}">'
        else:
            img = f'<div class="na" title="{title}">no thumbnail</div>'
        cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
        klass = f' class="{cls}"' if cls else ""
        return f"<figure{klass}>{img}{cap}</figure>"

    def _data_uri(self, key: Any) -> str | None:
        if not isinstance(key, str) or not key:
            return None
        if key not in self._cache:
            self._cache[key] = self._encode(key)
        uri = self._cache[key]
        if uri is None:
            return None
        if self.spent + len(uri) > self.budget:
            self.over_budget += 1
            return None
        self.spent += len(uri)
        self.count += 1
        return uri

    def _encode(self, key: str) -> str | None:
        try:
            source = Image.open(io.BytesIO(self.store.read_bytes(key)))
            source.draft("RGB", (self.size, self.size))
            image = source.convert("RGB")
            image.thumbnail((self.size, self.size))
        except Exception as exc:  # noqa: BLE001 - a broken thumbnail must not stop the report
            logger.debug("no thumbnail for %s: %s", key, exc)
            return None
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=self.quality, optimize=True)
        return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode()

    def summary(self) -> dict[str, int]:
        return {
            "thumbnails": self.count,
            "thumbnail_bytes": self.spent,
            "thumbnail_budget_bytes": self.budget,
            "thumbnails_over_budget": self.over_budget,
        }

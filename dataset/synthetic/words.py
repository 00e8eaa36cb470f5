"""The raw marketplace words of ``marketplace_words.yaml``, loaded and validated once."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from dataset.core.errors import UserError
from dataset.core.yamlio import pydantic_error

WORDS_PATH = Path(__file__).with_name("marketplace_words.yaml")


class MarketplaceWords(BaseModel):
    """House label -> words the demo marketplace shows for it (``ignored``: no house label)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int
    colour: dict[str, list[str]]
    material: dict[str, list[str]]
    gender: dict[str, list[str]]
    category: dict[str, str]  # site slug -> house type

    def house_colours(self) -> list[str]:
        return [c for c in self.colour if c != "ignored"]


@lru_cache(maxsize=4)
def load_words(path: Path = WORDS_PATH) -> MarketplaceWords:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise UserError(f"{path}: cannot read marketplace words: {exc}") from exc
    try:
        return MarketplaceWords.model_validate(raw)
    except ValidationError as exc:
        raise pydantic_error(str(path), exc, raw) from None

"""The demo marketplace's options: one validated object, from flags, YAML or keywords.

>>> DemoSiteConfig(seed=1, page_rate=10).page_rate
Budget(rate=10.0, burst=10)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from dataset.core.errors import UserError
from dataset.core.yamlio import pydantic_error


class Budget(BaseModel):
    """A request budget of one host: ``rate`` requests/s sustained, ``burst`` at once."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rate: float = Field(default=20.0, ge=0, description="requests per second; 0 means unlimited")
    burst: int = Field(default=10, ge=1, description="requests allowed back to back")

    @model_validator(mode="before")
    @classmethod
    def _from_number(cls, value: Any) -> Any:
        # `page_rate=10` or "10" or "10:3" (rate:burst) are accepted as shorthands.
        if isinstance(value, int | float) and not isinstance(value, bool):
            return {"rate": value, "burst": max(1, int(value))}
        if isinstance(value, str):
            rate, _, burst = value.partition(":")
            try:
                number = float(rate)
                return {"rate": number, "burst": int(burst) if burst else max(1, int(number))}
            except ValueError:
                raise ValueError("expected RATE or RATE:BURST") from None
        return value


class FaultRates(BaseModel):
    """Share of paths (decided from seed + path) that get each fault."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    server_error: float = Field(default=0.0, ge=0, le=1, description="503 on the first try")
    server_error_retry_after: int = Field(default=1, ge=0, le=3600, description="seconds")
    slow: float = Field(default=0.0, ge=0, le=1, description="answer after slow_seconds")
    slow_seconds: float = Field(default=1.0, ge=0, le=60)
    truncated_image: float = Field(default=0.0, ge=0, le=1, description="JPEG cut short")
    huge_image: float = Field(default=0.0, ge=0, le=1, description="photo of huge_image_side^2 px")
    huge_image_side: int = Field(default=12_000, ge=16, le=30_000)  # 144 MP: a crawl's memory test
    bad_jsonld: float = Field(default=0.0, ge=0, le=1, description="broken JSON in the JSON-LD")
    deleted: float = Field(default=0.0, ge=0, le=1, description="item gone after being listed")


class DemoSiteConfig(BaseModel):
    """Everything the demo marketplace can be told; the site is a pure function of it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    flavour: Literal["marketplace", "storefront"] = Field(
        default="marketplace", description="which site to serve (storefront: page_rate for both)"
    )
    seed: int = 0
    items_per_category: int = Field(default=40, ge=1, le=100_000)
    per_page: int = Field(default=20, ge=1, le=500, description="items on a listing page")
    max_per_page: int = Field(
        default=100, ge=1, le=1000,
        description="the largest page a visitor may ask for (?per_page=, ?limit=); "
        "a larger ask is served this many",
    )  # fmt: skip
    crawl_delay: float = Field(
        default=0.05, ge=0, description="Crawl-delay announced in robots.txt"
    )
    page_rate: Budget = Budget(rate=20.0, burst=10)
    image_rate: Budget = Budget(rate=50.0, burst=20)
    faults: FaultRates = FaultRates()
    request_log: Path | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535, description="pages port; 0 picks a free one")
    image_port: int = Field(
        default=0, ge=0, le=65535, description="images port; 0 picks a free one"
    )
    base_url: str | None = Field(
        default=None, description="pages URL as clients see it (a Service); default: bound"
    )
    image_base_url: str | None = Field(
        default=None, description="image host URL written into pages; default: bound"
    )
    photo_size: int = Field(
        default=256, ge=16, le=2048, description="side of served photos, pixels"
    )
    photo_cache: int = Field(default=2048, ge=0, description="rendered photos kept in memory")


def load_config(path: Path | None = None, **overrides: Any) -> DemoSiteConfig:
    """A config from an optional YAML file, with keyword overrides on top.

    Errors name the file, the key and what was received.
    """
    data: dict[str, Any] = {}
    source = "demo site options"
    if path is not None:
        source = str(path)
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise UserError(f"{path}: cannot read demo site config: {exc}") from exc
        if not isinstance(loaded, dict):
            raise UserError(f"{path}: expected a mapping of options. Received: {loaded!r}")
        data.update(loaded)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    try:
        return DemoSiteConfig.model_validate(data)
    except ValidationError as exc:
        raise pydantic_error(str(source), exc, data) from None

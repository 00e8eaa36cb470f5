"""Site profiles: one YAML file per marketplace in ``crawler/sites/``, validated once.

A profile is data: where the site lives, which categories it has, whether to read its
JSON API or its HTML pages, and the selectors or JSON paths of each label. The generic
spider (:mod:`crawler.spiders.base`) does the rest, so adding a marketplace is adding a
file (README.md, "Adding a marketplace", walks through one in each mode).

>>> profile = load_profile("demo")
>>> profile.mode, "robes" in profile.categories
('api', True)
>>> resolve_urls(profile, base_url="http://10.0.0.5:8080").base_url
'http://10.0.0.5:8080'
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from dataset.core.errors import UserError
from dataset.core.yamlio import load_yaml, pydantic_error

SITES_DIR = Path(__file__).parent / "sites"
RECORD_FIELDS = (
    "item_id",
    "url",
    "title",
    "brand",
    "colors",
    "materials",
    "gender",
    "size",
    "condition",
    "price",
    "image_urls",
)
LIST_FIELDS = ("colors", "materials", "image_urls")
Mode = Literal["api", "html"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ApiProfile(_Strict):
    """A JSON catalogue API listing items with their labels: one request per page."""

    listing_url: str = Field(description="template: {base_url} {category} {page} {per_page}")
    per_page: int = Field(default=100, ge=1, le=1000)
    items: str = Field(default="items", description="dotted path of the item list")
    total_pages: str | None = Field(
        default=None, description="dotted path of the page count; None: until an empty page"
    )
    fields: dict[str, str] = Field(description="record field -> dotted path ('photos[].url')")

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, fields: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(fields) - set(RECORD_FIELDS))
        if unknown:
            raise ValueError(f"unknown record field(s) {unknown}; known: {list(RECORD_FIELDS)}")
        for needed in ("item_id", "image_urls"):
            if needed not in fields:
                raise ValueError(f"fields must map {needed!r}")
        return fields


class HtmlProfile(_Strict):
    """Listing pages linking to item pages; labels from JSON-LD and a details table."""

    listing_url: str = Field(description="first listing page: {base_url} {category}")
    item_links: str = Field(description="CSS selector of the item links on a listing page")
    next_page: str | None = Field(default=None, description="CSS selector of the next page link")
    item_id: str = Field(description="regex on the item URL; group 1 is the item id")
    title: str = Field(default="h1::text", description="CSS selector of the title")
    photos: str = Field(description="CSS selector of the photo URLs on an item page")
    jsonld: bool = Field(default=True, description="read schema.org Product JSON-LD if present")
    details_table: str | None = Field(default=None, description="CSS selector of the table")
    details: dict[str, str] = Field(
        default_factory=dict, description="row header as shown -> record field"
    )
    list_separator: str = Field(default=", ", description="between values of a list row")

    @field_validator("item_id")
    @classmethod
    def _regex(cls, pattern: str) -> str:
        try:
            if re.compile(pattern).groups < 1:
                raise ValueError("needs one group (the item id)")
        except re.error as exc:
            raise ValueError(f"not a regular expression ({exc})") from None
        return pattern

    @field_validator("details")
    @classmethod
    def _known_fields(cls, details: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(details.values()) - set(RECORD_FIELDS))
        if unknown:
            raise ValueError(f"unknown record field(s) {unknown}; known: {list(RECORD_FIELDS)}")
        return details


class SiteProfile(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    base_url: str
    image_base_url: str | None = Field(default=None, description="photo host, if separate")
    mode: Mode = "api"
    rate: float = Field(default=1.0, gt=0, description="default requests/s per host")
    categories: list[str] = Field(min_length=1)
    api: ApiProfile | None = None
    html: HtmlProfile | None = None

    @field_validator("base_url", "image_base_url")
    @classmethod
    def _url(cls, url: str | None) -> str | None:
        if url is None:
            return None
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"not an http(s) URL: {url!r}")
        return url.rstrip("/")

    def with_mode(self, mode: Mode | None) -> SiteProfile:
        mode = mode or self.mode
        if getattr(self, mode) is None:
            raise UserError(f"site {self.name!r} has no {mode!r} section, so no {mode} mode")
        return self.model_copy(update={"mode": mode})

    def check_category(self, category: str) -> str:
        if category not in self.categories:
            raise UserError(
                f"unknown category {category!r} for site {self.name!r}; "
                f"known: {', '.join(self.categories)}"
            )
        return category

    @property
    def hosts(self) -> dict[str, str]:
        """Budget name -> host:port ("pages", and "images" when it is a separate host)."""
        hosts = {"pages": urlsplit(self.base_url).netloc}
        if self.image_base_url:
            hosts["images"] = urlsplit(self.image_base_url).netloc
        return hosts


def known_sites() -> list[str]:
    return sorted(path.stem for path in SITES_DIR.glob("*.yaml"))


def load_profile(site: str, path: Path | None = None) -> SiteProfile:
    """The validated profile of ``site``; :class:`UserError` naming file, key and value."""
    path = path or SITES_DIR / f"{site}.yaml"
    if not path.is_file():
        raise UserError(f"unknown site {site!r}; known: {', '.join(known_sites()) or 'none'}")
    data = load_yaml(path.read_text(encoding="utf-8"), str(path))
    try:
        return SiteProfile.model_validate(data)
    except ValidationError as exc:
        raise pydantic_error(str(path), exc, data) from None


def resolve_urls(
    profile: SiteProfile, base_url: str | None = None, image_base_url: str | None = None
) -> SiteProfile:
    """The profile pointed at flags, else S2S_BASE_URL / S2S_IMAGE_BASE_URL, else its own."""
    values: dict[str, Any] = {
        "base_url": base_url or os.environ.get("S2S_BASE_URL") or profile.base_url,
        "image_base_url": image_base_url
        or os.environ.get("S2S_IMAGE_BASE_URL")
        or profile.image_base_url,
    }
    try:
        return SiteProfile.model_validate({**profile.model_dump(), **values})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise UserError(f"{first['loc'][0]}: {first['msg']}") from exc

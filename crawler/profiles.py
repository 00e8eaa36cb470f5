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
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

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


def _check_record_fields(names: Iterable[str], also: frozenset[str] = frozenset()) -> None:
    unknown = sorted(set(names) - set(RECORD_FIELDS) - also)
    if unknown:
        raise ValueError(f"unknown record field(s) {unknown}; known: {list(RECORD_FIELDS)}")


def _check_fields(fields: dict[str, str], needed: tuple[str, ...]) -> dict[str, str]:
    _check_record_fields(fields)
    for name in needed:
        if name not in fields:
            raise ValueError(f"fields must map {name!r}")
    return fields


class Cursor(_Strict):
    """Cursor / next-token pagination: the token on a page, then the next page's URL.

    ``path`` is a dotted path in the page's JSON (the API answer, or the embedded JSON of
    an HTML listing page); ``css`` a selector on an HTML page. No token: the last page.
    """

    path: str | None = Field(default=None, description="dotted path of the token")
    css: str | None = Field(default=None, description="CSS selector of the token")
    url: str = Field(description="next page: {base_url} {category} {cursor}")

    @model_validator(mode="after")
    def _one_source(self) -> Cursor:
        if (self.path is None) == (self.css is None):
            raise ValueError(
                f"give one of path or css. Received: path={self.path!r}, css={self.css!r}"
            )
        if "{cursor}" not in self.url:
            raise ValueError(f"url must contain {{cursor}}. Received: {self.url!r}")
        return self


class ApiProfile(_Strict):
    """A JSON catalogue API listing items with their labels: one request per page."""

    listing_url: str = Field(description="template: {base_url} {category} {page} {per_page}")
    per_page: int = Field(default=100, ge=1, le=1000)
    items: str = Field(default="items", description="dotted path of the item list")
    total_pages: str | None = Field(
        default=None, description="dotted path of the page count; None: until an empty page"
    )
    cursor: Cursor | None = Field(default=None, description="next page from a token instead")
    fields: dict[str, str] = Field(description="record field -> dotted path ('photos[].url')")

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, fields: dict[str, str]) -> dict[str, str]:
        return _check_fields(fields, ("item_id", "image_urls"))

    @field_validator("cursor")
    @classmethod
    def _json_cursor(cls, cursor: Cursor | None) -> Cursor | None:
        if cursor is not None and cursor.path is None:
            raise ValueError("an API cursor is a JSON path (path:), not a CSS selector")
        return cursor


class EmbeddedJson(_Strict):
    """Items as JSON inside an HTML listing page (``<script id="__NEXT_DATA__">``).

    ``items`` and ``fields`` are dotted paths as in API mode; ``fields`` must map ``url``
    (the item page, fetched next); its other fields are completed by the item page.
    """

    script: str = Field(description="CSS selector of the script text ('script#x::text')")
    items: str = Field(description="dotted path of the item list")
    fields: dict[str, str] = Field(description="record field -> dotted path")

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, fields: dict[str, str]) -> dict[str, str]:
        return _check_fields(fields, ("url",))


class KeyValues(_Strict):
    """Labels from key/value pairs in any markup: ``rows`` are the elements holding pairs,
    ``key``/``value`` select within each (zipped in order), so table rows (``tr``/``th``/
    ``td``), definition lists (``dl``/``dt``/``dd``) and ``li`` with two spans all work."""

    rows: str = Field(description="CSS selector of each element holding pairs")
    key: str = Field(description="CSS selector of a key within a row")
    value: str = Field(description="CSS selector of a value within a row")
    fields: dict[str, str] = Field(description="key as shown -> record field")

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, fields: dict[str, str]) -> dict[str, str]:
        _check_record_fields(fields.values())
        return fields


class HtmlProfile(_Strict):
    """Listing pages leading to item pages; labels from the listing, JSON-LD, microdata,
    key/value lists and selectors (later sources win: what a visitor reads comes last)."""

    listing_url: str = Field(description="first listing page: {base_url} {category}")
    item_links: str | None = Field(
        default=None, description="CSS selector of the item links on a listing page"
    )
    embedded: EmbeddedJson | None = Field(default=None, description="items as embedded JSON")
    next_page: str | None = Field(default=None, description="CSS selector of the next page link")
    cursor: Cursor | None = Field(default=None, description="next page from a token")
    item_id: str | None = Field(
        default=None, description="regex on the item URL; group 1 is the item id"
    )
    title: str | None = Field(default="h1::text", description="CSS selector of the title")
    photos: str | None = Field(
        default=None, description="CSS selector of the photo URLs (else JSON-LD/microdata)"
    )
    jsonld: bool = Field(default=True, description="read schema.org Product JSON-LD if present")
    microdata: bool = Field(default=False, description="read schema.org Product microdata")
    key_values: list[KeyValues] = Field(default_factory=list, description="key/value lists")
    selectors: dict[str, str] = Field(
        default_factory=dict, description="record field (or 'currency') -> CSS selector"
    )
    list_separator: str = Field(default=", ", description="between values of a list row")

    @field_validator("item_id")
    @classmethod
    def _regex(cls, pattern: str | None) -> str | None:
        if pattern is None:
            return None
        try:
            if re.compile(pattern).groups < 1:
                raise ValueError("needs one group (the item id)")
        except re.error as exc:
            raise ValueError(f"not a regular expression ({exc})") from None
        return pattern

    @field_validator("selectors")
    @classmethod
    def _known_selectors(cls, selectors: dict[str, str]) -> dict[str, str]:
        _check_record_fields(selectors, also=frozenset({"currency"}))
        return selectors

    @model_validator(mode="after")
    def _consistent(self) -> HtmlProfile:
        if (self.item_links is None) == (self.embedded is None):
            raise ValueError("give one of item_links (CSS) or embedded (JSON in the page)")
        has_json_id = self.embedded is not None and "item_id" in self.embedded.fields
        if self.item_id is None and not has_json_id:
            raise ValueError("item_id (a regex on the item URL) is needed")
        if self.next_page is not None and self.cursor is not None:
            raise ValueError("give at most one of next_page or cursor")
        if self.cursor is not None and self.cursor.path is not None and self.embedded is None:
            raise ValueError("cursor.path reads embedded JSON: add embedded, or use cursor.css")
        return self


class PhotoUrlRule(_Strict):
    """Photo URLs rewritten before use, e.g. a thumbnail's size parameter dropped."""

    drop_query: list[str] = Field(default_factory=list, description="query parameters removed")
    set_query: dict[str, str] = Field(default_factory=dict, description="parameters set")


class SiteProfile(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    base_url: str
    image_base_url: str | None = Field(default=None, description="photo host, if separate")
    mode: Mode = "api"
    rate: float = Field(default=1.0, gt=0, description="default requests/s per budget")
    budget: Literal["host", "site"] = Field(
        default="host", description="host: one budget per host; site: one for all its hosts"
    )
    photo_urls: PhotoUrlRule | None = Field(default=None, description="photo URL rewriting")
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

    def allows_photo(self, url: str) -> bool:
        """Whether ``url`` is on one of the site's hosts (offsite photos are never fetched)."""
        return urlsplit(url).netloc in self.hosts.values()

    @property
    def hosts(self) -> dict[str, str]:
        """Budget name -> host:port ("pages", and "images" when it is a separate host)."""
        hosts = {"pages": urlsplit(self.base_url).netloc}
        if self.image_base_url:
            hosts["images"] = urlsplit(self.image_base_url).netloc
        return hosts


def sites_dirs() -> list[Path]:
    """Where profiles are looked up: ``S2S_SITES_DIR`` (your own, first), then the bundled."""
    extra = os.environ.get("S2S_SITES_DIR")
    return ([Path(extra)] if extra else []) + [SITES_DIR]


def known_sites() -> list[str]:
    return sorted({path.stem for folder in sites_dirs() for path in folder.glob("*.yaml")})


def load_profile(site: str, path: Path | None = None) -> SiteProfile:
    """The validated profile of ``site``; :class:`UserError` naming file, key and value."""
    if path is None:
        found = [folder / f"{site}.yaml" for folder in sites_dirs()]
        path = next((candidate for candidate in found if candidate.is_file()), found[-1])
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

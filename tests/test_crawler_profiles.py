"""Site profiles: validated YAML with errors naming the file, the line and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.profiles import load_profile, resolve_urls
from dataset.core.errors import UserError

API_PROFILE = """\
name: shop
base_url: https://www.shop.example
mode: api
categories: [robes]
api:
  listing_url: "{base_url}/api/items?cat={category}&p={page}&n={per_page}"
  fields: {item_id: id, url: link, image_urls: "pictures[].full"}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "shop.yaml"
    path.write_text(text)
    return path


def test_shipped_demo_profile_is_valid() -> None:
    profile = load_profile("demo")
    assert profile.name == "demo" and "robes" in profile.categories
    assert profile.api is not None and profile.html is not None  # both modes


def test_a_new_profile_loads_and_urls_follow_flag_then_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile = load_profile("shop", write(tmp_path, API_PROFILE))
    assert profile.mode == "api" and profile.api is not None
    monkeypatch.setenv("S2S_BASE_URL", "http://demo-site:8000")
    assert resolve_urls(profile).base_url == "http://demo-site:8000"
    assert resolve_urls(profile, "http://127.0.0.1:9").base_url == "http://127.0.0.1:9"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("mode: api", "mode: ftp"), r"shop.yaml:3: mode: Input should be 'api' or 'html'"),
        (("categories: [robes]", "categories: []"), r"shop.yaml:4: categories: "),
        (("mode: api", "mode: api\nrate_limit: 3"), r"shop.yaml:4: rate_limit: Extra inputs"),
        (("categories: [robes]", "categories: [robes]\nmode: html"), r"duplicate key 'mode'"),
    ],
)
def test_bad_profiles_are_one_line_errors(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    path = write(tmp_path, API_PROFILE.replace(*change))
    with pytest.raises(UserError, match=message) as caught:
        load_profile("shop", path)
    assert "\n" not in str(caught.value)


def test_unknown_site_names_the_known_ones() -> None:
    with pytest.raises(UserError, match=r"unknown site 'nope'; known: .*demo"):
        load_profile("nope")

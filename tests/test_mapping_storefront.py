"""The storefront's mapping tables give every English word it shows the house label of
the French word it translates (the marketplace flavour's words are the ground truth)."""

from __future__ import annotations

import yaml

from crawler.demo_site.storefront import load_words
from dataset.mapping.mapper import resolve
from dataset.mapping.tables import load_tables
from dataset.taxonomy.schema import load_taxonomy
from tests.test_mapping_tables import WORDS


def test_storefront_tables_cover_every_word_it_shows() -> None:
    tables = load_tables("storefront", load_taxonomy())
    french = yaml.safe_load(WORDS.read_text(encoding="utf-8"))
    english = load_words()
    checked = 0
    for task in ("colour", "material", "gender"):
        shown = getattr(english, task)
        for label, raws in french[task].items():
            expected = () if label == "ignored" else (label,)
            for raw in raws:
                assert resolve(shown[raw], tables[task], split=True) == (expected, []), raw
                checked += 1
    for slug, house_type in french["category"].items():
        english_slug = english.category[slug][0]
        assert resolve(english_slug, tables["type"], split=False) == ((house_type,), [])
        checked += 1
    assert checked > 60

"""Suggestions for unmapped values: what they know, and what they leave for a person."""

from __future__ import annotations

from pathlib import Path

import pytest

from dataset.mapping.colours import ColourName, colour_names
from dataset.mapping.normalise import normalise
from dataset.mapping.suggest import Suggester, slug_words
from dataset.mapping.tables import COMMON, Entry, MappingTable, load_table, load_tables
from dataset.taxonomy.schema import load_taxonomy

TAXONOMY = load_taxonomy()


def suggester(task: str, site_table: MappingTable | None = None, **kwargs: object) -> Suggester:
    shared = load_table(COMMON, task, TAXONOMY)
    table = site_table if site_table is not None else shared
    return Suggester(task, TAXONOMY.tasks[task], table, shared, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("task", "raw", "labels", "confidence"),
    [
        ("material", "Similicuir", ("other",), "high"),
        ("material", "Écocuir", ("other",), "high"),
        ("material", "Cuir façon croco", ("other",), "high"),
        ("material", "Laine synthétique", ("other",), "high"),
        ("material", "Cuir pleine fleur", None, "none"),  # unknown words next to a material
        ("colour", "Multicolore", (), "high"),
        ("colour", "Argenté", (), "high"),
        ("colour", "Violet", (), "high"),  # purple: no house class
        ("colour", "Bordeaux", ("red",), "high"),
        ("colour", "Rose gold", None, "none"),  # pink and a metallic disagree
        ("colour", "Bleu nuit", ("blue",), "high"),
        ("colour", "Gris bleu", ("grey", "blue"), "low"),  # one shade, or both?
        ("material", "Silk satin", ("silk", "other"), "low"),
        ("colour", "bordeau", ("red",), "high"),  # a spelling variant
        ("colour", "Gris acier", ("grey",), "high"),  # a shade of a house colour
        ("colour", "Turquoise lagon", ("blue",), "low"),  # a shade of a lexicon name
        ("type", "party-dresses", ("dresses",), "high"),  # the category word heads it
        ("gender", "Bébé fille", ("girl", "baby"), "low"),
        ("type", "sweats-a-capuche", ("sweaters",), "high"),
        ("type", "women-leather-jackets", ("jackets-coats",), "high"),
        ("type", "robes-et-jupes", None, "none"),  # two types: a person decides
        ("type", "chaussures", (), "high"),  # no house type: the shared table ignores it
    ],
)
def test_suggestions(task: str, raw: str, labels: tuple | None, confidence: str) -> None:
    in_slugs = slug_words(load_tables("demo", TAXONOMY))
    hint = suggester(task, slug_words=in_slugs).suggest(normalise(raw))
    assert (hint.labels if hint.labels is None else set(hint.labels)) == (
        None if labels is None else set(labels)
    ), hint
    assert hint.confidence == confidence, hint
    assert hint.reason


def test_a_site_that_opts_out_still_gets_the_shared_words_as_suggestions() -> None:
    hint = suggester("colour", MappingTable("colour")).suggest("bordeaux")
    assert (hint.labels, hint.confidence) == (("red",), "high")
    assert "_common/colour.yaml:" in hint.reason


def test_a_fuzzy_match_without_a_margin_is_left_for_a_person() -> None:
    site = load_table(COMMON, "colour", TAXONOMY)
    for raw, label in (("Marinette", "blue"), ("Marimette", "brown")):  # a site's own words
        site.entries[normalise(raw)] = Entry((label,), raw, f"shop/colour.yaml:{len(raw)}")
    hint = suggester("colour", site).suggest("marixette")  # one edit from both
    assert hint.labels is None and hint.confidence == "none", hint
    assert "'marinette'" in hint.reason and "'marimette' -> brown" in hint.reason
    assert suggester("colour").suggest("marixette").labels is None  # too far from 'marine'
    close = suggester("colour", site).suggest("bordeau")
    assert (close.labels, close.confidence) == (("red",), "high"), close


def test_colour_distance_only_for_a_lexicon_name_without_a_basic_colour() -> None:
    lexicon = {
        **colour_names(),
        "vert amande": ColourName("vert amande", "#9BC49B", ()),  # a maintainer's new row
        "petrole fonce": ColourName("pétrole foncé", "#1D4851", ()),
    }
    almond = suggester("colour", lexicon=lexicon).suggest("vert amande")
    assert (almond.labels, almond.confidence) == (("green",), "low"), almond
    assert "ΔE" in almond.reason
    # Blue-green: blue and green are both near, so it is not a guess.
    petrol = suggester("colour", lexicon=lexicon).suggest("petrole fonce")
    assert petrol.labels is None and "too close to tell" in petrol.reason


def test_lexicon_rows_need_a_basic_colour_or_a_hex(tmp_path: Path) -> None:
    path = tmp_path / "names.csv"
    path.write_text("name,lang,hex,basic\nvert amande,fr,,\n", encoding="utf-8")
    with pytest.raises(Exception, match=r"names.csv:2: a colour name needs a basic colour"):
        colour_names(path)

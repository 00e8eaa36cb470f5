"""The house taxonomy file and its loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from dataset.core.errors import UserError
from dataset.taxonomy.schema import HOUSE_TAXONOMY, load_taxonomy, parse_taxonomy

DESIGN_ORDER = {
    "colour": "orange yellow white green grey red brown beige blue black pink",
    "material": "cotton viscose polyamide elastane polyester wool leather silk cashmere linen other",
    "gender": "men child women girl boy baby",
    "type": "sweaters t-shirts jackets-coats trousers skirts jeans sets shirts shorts "
    "puffer-jackets cardigans dresses blouses polos leggings",
}


def test_house_taxonomy_matches_design_order() -> None:
    tax = load_taxonomy()
    assert {name: " ".join(task.ids) for name, task in tax.tasks.items()} == DESIGN_ORDER
    assert [tax.tasks[t].kind for t in DESIGN_ORDER] == ["multi_label"] * 3 + ["single_label"]
    assert tax.tasks["gender"].index("baby") == 5
    assert tax.tasks["material"].classes[3].fr == "élasthanne"
    assert parse_taxonomy(tax.to_yaml(), "roundtrip") == tax


def test_adding_a_class_is_a_data_edit(tmp_path: Path) -> None:
    text = HOUSE_TAXONOMY.read_text(encoding="utf-8").replace(
        "      - {id: pink, fr: rose}\n",
        "      - {id: pink, fr: rose}\n      - {id: purple, fr: violet}\n",
    )
    path = tmp_path / "house.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_taxonomy(path).tasks["colour"].index("purple") == 11


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("kind: single_label", "kind: single"), r"house.yaml:\d+: tasks.type.kind: .*'single'"),
        (("{id: polos, fr: polos}", "{id: shorts, fr: x}"), "class id 'shorts' is listed twice"),
        (("{id: blue, fr: bleu}", "{id: Blue, fr: bleu}"), "lowercase.*Received: 'Blue'"),
        (("  gender:\n", "  colour:\n"), r"house.yaml:\d+: duplicate key 'colour'"),
    ],
)
def test_bad_taxonomy_names_file_key_and_value(
    tmp_path: Path, edit: tuple[str, str], message: str
) -> None:
    text = HOUSE_TAXONOMY.read_text(encoding="utf-8")
    assert edit[0] in text
    path = tmp_path / "house.yaml"
    path.write_text(text.replace(edit[0], edit[1], 1), encoding="utf-8")
    with pytest.raises(UserError, match=message):
        load_taxonomy(path)


def test_unknown_class_lookup_lists_valid_classes() -> None:
    with pytest.raises(UserError, match="unknown class 'purple'; valid classes: orange, yellow"):
        load_taxonomy().tasks["colour"].index("purple")

"""Mapping tables: shipped demo tables are complete, bad tables fail with file and line."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from dataset.core.errors import UserError
from dataset.mapping.mapper import map_column, resolve
from dataset.mapping.tables import MAPPINGS_ROOT, load_table, load_tables
from dataset.taxonomy.schema import load_taxonomy

WORDS = Path(__file__).parents[1] / "dataset" / "synthetic" / "marketplace_words.yaml"


def test_demo_tables_cover_every_marketplace_word_with_its_label() -> None:
    tax = load_taxonomy()
    tables = load_tables("demo", tax)
    words = yaml.safe_load(WORDS.read_text(encoding="utf-8"))
    checked = 0
    for task in ("colour", "material", "gender"):
        for label, raws in words[task].items():
            expected = () if label == "ignored" else (label,)
            for raw in raws:
                assert resolve(raw, tables[task], split=True) == (expected, []), (task, raw)
                checked += 1
    for slug, house_type in words["category"].items():
        assert resolve(slug, tables["type"], split=False) == ((house_type,), []), slug
        checked += 1
    assert checked > 60  # the words file has 64 words today


def _table(tmp_path: Path, body: str, task: str = "colour") -> Path:
    root = tmp_path / "tables"
    shutil.copytree(MAPPINGS_ROOT / "_common", root / "_common")
    (root / "shop").mkdir()
    (root / "shop" / f"{task}.yaml").write_text(body, encoding="utf-8")
    return root


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "values:\n  Kaki: green\n  Noir: black\n  Kaki: brown\n",
            r"shop/colour.yaml:4: duplicate key 'Kaki' \(first defined on line 2\)",
        ),
        (
            "values:\n  Kaki: green\n  Lavande: purple\n",
            r"shop/colour.yaml:3: 'Lavande' maps to 'purple', which is not a colour class; "
            r"valid classes: orange, yellow, white, .*pink \(or 'ignore'\)",
        ),
        (
            "values:\n  Kaki: green\n  kakis: brown\n",
            r"shop/colour.yaml:3: 'kakis' and 'Kaki' \(.*:2\) are the same word",
        ),
        ("values:\n  Kaki: 3\n", r"shop/colour.yaml:2: 'Kaki' must map to a house label"),
        ("values:\n  - Kaki\n", r"shop/colour.yaml:1: values is a mapping"),
        ("extends: [_nope]\nvalues: {}\n", r"extends '_nope' but .*_nope/colour.yaml does not"),
        ("colours:\n  Kaki: green\n", r"shop/colour.yaml: a mapping table has the keys"),
        ("values:\n  Kaki: [green\n", r"shop/colour.yaml:3: not valid YAML"),
    ],
)
def test_bad_tables_name_file_and_line(tmp_path: Path, body: str, message: str) -> None:
    root = _table(tmp_path, body)
    with pytest.raises(UserError, match=message):
        load_table("shop", "colour", load_taxonomy(), root)


def test_single_label_task_refuses_two_labels(tmp_path: Path) -> None:
    root = _table(tmp_path, "values:\n  robes-et-jupes: [dresses, skirts]\n", task="type")
    with pytest.raises(UserError, match=r"type.yaml:2: .* type is single-label"):
        load_table("shop", "type", load_taxonomy(), root)


def test_site_table_extends_and_overrides_the_common_table(tmp_path: Path) -> None:
    root = _table(tmp_path, "extends: [_common]\nvalues:\n  Camel: beige\n  Arc-en-ciel: ignore\n")
    table = load_table("shop", "colour", load_taxonomy(), root)
    assert table.get("camel").labels == ("beige",)  # the common table says brown
    assert table.get("kaki").labels == ("green",)  # inherited
    assert table.get("arc en ciel").ignored
    (override,) = table.overrides  # allowed, but reported
    assert re.fullmatch(
        r".*shop/colour.yaml:3: 'Camel' -> beige overrides .*_common/colour.yaml:\d+: "
        r"'camel' -> brown",
        override.describe(),
    )


def test_a_site_without_tables_uses_the_shared_ones_unless_it_opts_out(tmp_path: Path) -> None:
    tax = load_taxonomy()
    root = _table(tmp_path, "values:\n  Pistache: green\n")  # no extends: _common by default
    common = load_table("_common", "colour", tax, root).entries
    assert len(common) > 100
    assert load_table("newshop", "colour", tax, root).entries == common  # no folder at all
    assert {"pistache", *common} == set(load_table("shop", "colour", tax, root).entries)
    (root / "shop" / "colour.yaml").write_text("extends: []\nvalues:\n  Noir: black\n")
    assert list(load_table("shop", "colour", tax, root).entries) == ["noir"]
    assert load_tables("newshop", tax, root)["type"].get("homme") is None
    assert load_tables("newshop", tax, root)["gender"].get("homme").labels == ("men",)


def test_every_unresolved_line_of_every_table_is_listed_at_once(tmp_path: Path) -> None:
    root = _table(tmp_path, "values:\n  Pistache: ???\n  Lavande: purple\n  Rose gold: ???\n")
    (root / "shop" / "type.yaml").write_text("values:\n  sweats-a-capuche: ???\n")
    with pytest.raises(UserError) as caught:
        load_tables("shop", load_taxonomy(), root)
    message = str(caught.value)
    assert "\n" not in message and message.startswith("4 mapping table lines to fix: ")
    for where in ("colour.yaml:2: 'Pistache' still reads '???'", "colour.yaml:3: 'Lavande'",
                  "colour.yaml:4: 'Rose gold'", "type.yaml:2: 'sweats-a-capuche'"):  # fmt: skip
        assert where in message


def test_vectorised_mapping_equals_a_per_row_loop() -> None:
    tax = load_taxonomy()
    table = load_tables("demo", tax)["colour"]
    pool = ["Kaki, Moutarde", "bleu/blanc", "Pistache", "Multicolore", "CRÈMES", "noir et or", ""]
    rng = np.random.default_rng(0)
    cells = pd.Series(
        [list(rng.choice(pool, size=rng.integers(0, 3))) for _ in range(500)] + [None, "Rouge"],
        dtype=object,
    )
    result = map_column(cells, table, tax.tasks["colour"])
    for position, cell in enumerate(cells):
        raws = [] if cell is None else [cell] if isinstance(cell, str) else cell
        labels: set[str] = set()
        missing: list[str] = []
        for raw in raws:
            found, unmapped = resolve(raw, table, split=True)
            labels.update(found)
            missing += unmapped
        assert set(result.labels[position]) == labels
        assert result.complete[position] == (not missing)
        assert result.has_value[position] == any(raw.strip() for raw in raws)
    (pistache,) = result.unmapped
    assert pistache.value == "pistache"
    assert len(pistache.rows) == sum("Pistache" in (c or []) for c in cells)

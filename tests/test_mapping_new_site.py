"""The maintainer's loop on a brand-new marketplace, as README shows it.

``unmapped`` (shared tables stand in, scaffold and safe suggestions printed, skipped record
lines named) -> ``new-site`` (the table files) -> a person accepts the confident lines and
decides the others -> ``map --strict``: 100% coverage and every label right.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from dataset.cli import main
from dataset.core.store import open_store
from dataset.mapping.normalise import normalise
from dataset.mapping.suggest import CONFIDENCE_ORDER
from tests.vocabulary_fixtures import (
    FIELDS,
    SITE,
    TASKS,
    acceptable,
    load_vocabulary,
    new_site,
    value_listings,
)

EMPTY: dict[str, dict[str, list[str]]] = {"material": {}, "gender": {}, "category": {}}
VALUE_LINE = re.compile(r"^  # (?P<key>.+?): (?P<label>.+?)  # (?P<confidence>high|low|none), ")


def command(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def decide(text: str, answers: dict[str, str]) -> tuple[str, int]:
    """A person's edit of a scaffold: accept confident lines, write the answer elsewhere."""
    lines, decided = [], 0
    for line in text.splitlines():
        match = VALUE_LINE.match(line)
        if match is None:
            lines.append(line)
            continue
        label = match["label"]
        if match["confidence"] != "high":
            label, decided = answers[normalise(json_or_plain(match["key"]))], decided + 1
        lines.append(f"  {match['key']}: {label}")
    return "\n".join(lines) + "\n", decided


def json_or_plain(key: str) -> str:
    return json.loads(key) if key.startswith('"') else key


def first_answer(answers: list[object]) -> str:
    answer = answers[0]
    return f"[{', '.join(answer)}]" if isinstance(answer, list) else str(answer)


def test_new_site_loop_reaches_full_coverage_with_every_label_right(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vocabulary = load_vocabulary("tuned.yaml")
    store, tables = new_site(tmp_path, vocabulary)
    items = f"raw/{SITE}/all/items/r1-00001.jsonl"
    text = open_store(store).read_text(items)
    open_store(store).write_text(items, text + '{"site": "newshop",\n')  # a malformed line
    common = ["--store", str(store), "--site", SITE, "--tables", str(tables)]

    code, out, _ = command(capsys, "unmapped", *common)
    assert code == 0
    assert "no table yet for colour, material, gender, type: the shared tables (_common)" in out
    assert f"s2s-dataset new-site --site {SITE} --store {store} --tables {tables}" in out
    assert f"skipped 1 record line(s) (1 malformed, 0 missing fields); first:\n    {store}" in out
    assert f"r1-00001.jsonl:{len(value_listings(vocabulary)) + 1}: not valid JSON" in out
    assert f"create {tables / SITE / 'material.yaml'} (new-site writes it):" in out
    assert "extends: [_common]" in out
    assert "# Faux cuir: other  # high, 1 listing: 'faux' negates 'cuir' (leather)" in out
    rows = json.loads(command(capsys, "unmapped", *common, "--format", "json")[1])["unmapped"]
    order = [CONFIDENCE_ORDER[row["confidence"]] for row in rows]
    assert order == sorted(order) and order[0] == 0  # the least certain first

    code, out, _ = command(capsys, "new-site", *common)
    assert code == 0 and out.count("written ") == 4
    scaffolds = {task: tables / SITE / f"{task}.yaml" for task in TASKS.values()}
    assert "covered by the shared tables" in scaffolds["gender"].read_text(encoding="utf-8")
    assert command(capsys, "new-site", *common)[1].count("kept ") == 4  # never overwritten

    # Uncommented as printed, the ??? lines fail the run, every one of them named at once.
    type_text = scaffolds["type"].read_text(encoding="utf-8")
    unresolved = type_text.count(": ???  #")
    assert unresolved >= 2
    as_printed = re.sub(r"^  # (?=.+?: .+?  # (high|low|none), )", "  ", type_text, flags=re.M)
    scaffolds["type"].write_text(as_printed, encoding="utf-8")
    out_dir = str(tmp_path / "out")
    code, _, err = command(capsys, "map", *common, "--out", out_dir, "--strict")
    assert code == 2 and f"{unresolved} mapping table lines to fix: " in err
    assert err.count("still reads '???'") == unresolved
    scaffolds["type"].write_text(type_text, encoding="utf-8")

    decided = 0
    for field, task in TASKS.items():
        answers = {normalise(raw): first_answer(a) for raw, a in vocabulary[field].items()}
        edited, count = decide(scaffolds[task].read_text(encoding="utf-8"), answers)
        scaffolds[task].write_text(edited, encoding="utf-8")
        decided += count
    assert decided == unresolved  # the person decides only the lines left for them

    code, out, _ = command(capsys, "map", *common, "--out", out_dir, "--strict", "--format", "json")
    assert code == 0
    summary = json.loads(out)
    assert {task: cov["coverage"] for task, cov in summary["coverage"].items()} == dict.fromkeys(
        TASKS.values(), 1.0
    )
    labelled = pd.read_parquet(Path(out_dir) / "labelled.parquet").set_index("item_id")
    wrong, checked = [], 0
    for field, raw, record in value_listings(vocabulary):
        task = TASKS[field]
        answers = acceptable(vocabulary[field][raw])
        if record["item_id"] not in labelled.index:  # a category a person chose to ignore
            assert task == "type" and frozenset() in answers, raw
            continue
        checked += 1
        if frozenset(labelled.loc[record["item_id"], task]) not in answers:
            wrong.append((field, raw, list(labelled.loc[record["item_id"], task])))
    assert wrong == [] and checked == sum(len(vocabulary[field]) for field in FIELDS)
    assert "every value is mapped" in command(capsys, "unmapped", *common)[1]


def test_a_site_entry_contradicting_the_shared_tables_is_reported_once_by_both_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store, tables = new_site(tmp_path, {"colour": {"Camel": [], "Noir": []}, **EMPTY})
    (tables / SITE).mkdir()
    (tables / SITE / "colour.yaml").write_text("values:\n  Camel: beige\n", encoding="utf-8")
    common = ["--store", str(store), "--site", SITE, "--tables", str(tables)]
    expected = re.compile(
        r"^  override: colour: .*newshop/colour.yaml:2: 'Camel' -> beige overrides "
        r".*_common/colour.yaml:\d+: 'camel' -> brown$",
        re.M,
    )
    _, unmapped_text, _ = command(capsys, "unmapped", *common)
    _, map_text, _ = command(capsys, "map", *common, "--out", str(tmp_path / "out"))
    for text in (unmapped_text, map_text):
        assert len(expected.findall(text)) == 1 and text.count("override:") == 1
    saved = json.loads((tmp_path / "out" / "map-summary.json").read_text(encoding="utf-8"))
    assert len(saved["overrides"]) == 1


def test_new_site_without_listings_writes_tables_that_extend_the_shared_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tables = tmp_path / "tables"
    code, out, _ = command(capsys, "new-site", "--site", "shop", "--tables", str(tables))
    assert code == 0 and out.count("written ") == 4
    text = (tables / "shop" / "colour.yaml").read_text(encoding="utf-8")
    assert "extends: [_common]" in text and "`s2s-dataset unmapped` lists those" in text
    assert command(capsys, "new-site", "--site", "_common", "--tables", str(tables))[0] == 2

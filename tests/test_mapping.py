"""The map and unmapped commands end to end on hand-written listing records."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from dataset.cli import main
from dataset.core.errors import UserError
from dataset.core.store import open_store
from dataset.mapping.marketplace import MapConfig, map_listings
from dataset.mapping.tables import MAPPINGS_ROOT
from tests.mapping_fixtures import listing, write_items

ROOT = Path(__file__).parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def s2s_dataset(*args: str) -> subprocess.CompletedProcess[str]:
    """The command in a subprocess, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "dataset", *args],
        capture_output=True,
        text=True,
        env={**ENV, **{k: v for k, v in os.environ.items() if k.startswith("AWS_")}},
        timeout=120,
    )


def in_process(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The command through ``dataset.cli.main`` in this process (faster than a subprocess)."""
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def fill_store(uri: str) -> None:
    """Two categories, two runs, a relisted item, and bad lines."""
    store = open_store(uri)
    write_items(
        store,
        [
            listing("1", "robes", colors=["Kaki, Moutarde"], photos=2),
            listing("2", "jeans", colors=["bleu/blanc"], materials=["60% coton, 40% polyester"]),
            listing("3", "robes", colors=["Pistache"], gender="Hommes"),
        ],
        "raw/demo/robes/items/run1-00001.jsonl",
        extra='{"site": "demo", "item_id": \n{"site": "demo", "item_id": "9"}\n[1, 2]\n',
    )
    write_items(
        store,
        [
            listing("1", "robes", colors=["Bleu marine"], fetched_at="2026-11-21T08:00:00Z"),
            listing("4", "deguisements", colors=["Noir"]),
            listing("5", "pulls-et-sweats", colors=["Multicolore"], gender=None, photos=0),
        ],
        "raw/demo/pulls-et-sweats/items/run2-00001.jsonl",
    )


def check_table(table: pd.DataFrame, summary: dict) -> None:
    by_item = table.groupby("item_id").first()
    assert sorted(table["item_id"]) == ["1", "2", "3"]  # 4: no house type, 5: no photo
    assert list(by_item.loc["1", "colour"]) == ["blue"]  # latest record of item 1 wins
    assert table[table.item_id == "1"]["image_path"].tolist() == ["raw/demo/images/full/1-0.jpg"]
    assert list(by_item.loc["2", "colour"]) == ["white", "blue"]  # taxonomy order
    assert list(by_item.loc["2", "material"]) == ["cotton", "polyester"]
    assert list(by_item.loc["2", "type"]) == ["jeans"]
    assert list(by_item.loc["3", "colour"]) == []
    assert list(by_item.loc["3", "gender"]) == ["men"]
    assert by_item.loc["3", "raw_gender"] == "Hommes"
    assert set(table["source"]) == {"marketplace"} and set(table["domain"]) == {"user"}
    assert table["price"].tolist() == [12.5] * 3
    read = summary["read"]
    assert (read["skipped_malformed"], read["skipped_missing_fields"], read["superseded"]) == (
        2,
        1,
        1,
    )
    assert read["problems"][0].endswith("run1-00001.jsonl:4: not valid JSON (Expecting value)")
    assert "run1-00001.jsonl:5: missing required field(s) url" in read["problems"][1]
    assert summary["excluded_listings"] == {
        "no_stored_image": 1,
        "type_unmapped": 1,
        "type_ignored": 0,
        "type_missing": 0,
    }
    assert summary["coverage"]["colour"]["coverage"] == pytest.approx(4 / 5, abs=1e-4)
    assert summary["coverage"]["colour"]["top_unmapped"] == ["pistache"]
    assert summary["coverage"]["gender"]["listings_with_value"] == 4
    assert summary["coverage"]["type"]["top_unmapped"] == ["deguisement"]
    assert (summary["listings_in"], summary["listings_out"], summary["rows_out"]) == (5, 3, 3)


def test_map_local_store(tmp_path: Path) -> None:
    fill_store(str(tmp_path))
    table, summary = map_listings(open_store(tmp_path), "demo", MapConfig())
    check_table(table, summary)


def test_map_command_on_s3(s3_bucket: str, capsys: pytest.CaptureFixture[str]) -> None:
    fill_store(f"{s3_bucket}/store")
    out = f"{s3_bucket}/datasets/demo/v1"
    done = s2s_dataset("map", "--store", f"{s3_bucket}/store", "--site", "demo", "--out", out)
    assert done.returncode == 0, done.stderr
    assert "colour" in done.stdout and "80.0%" in done.stdout
    store = open_store(out)
    summary = store.read_json("map-summary.json")
    check_table(store.read_parquet("labelled.parquet"), summary)

    args = ["--store", f"{s3_bucket}/store", "--site", "demo", "--out", f"{out}-strict"]
    code, _, err = in_process(capsys, "map", *args, "--strict")
    assert code == 1
    assert "unmapped values (colour: pistache; type: deguisement); nothing written" in err
    assert list(open_store(f"{out}-strict").list()) == []

    code, text, _ = in_process(
        capsys, "unmapped", "--store", f"{s3_bucket}/store", "--site", "demo"
    )
    saved = open_store(f"{s3_bucket}/store").read_json("raw/demo/unmapped-summary.json")
    assert code == 0 and f"saved {saved['summary']['saved']}" in text
    # The least certain first: no house type for fancy dress; pistache is a colour name.
    assert [
        (r["task"], r["value"], r["suggestion"], r["confidence"]) for r in saved["unmapped"]
    ] == [
        ("type", "deguisement", "???", "none"),
        ("colour", "pistache", "green", "high"),
    ]


def test_unmapped_edit_map_reaches_full_coverage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The maintainer's loop: unmapped -> edit one table file -> map at 100%."""
    store = tmp_path / "store"
    tables = tmp_path / "tables"
    shutil.copytree(MAPPINGS_ROOT, tables)
    colours = tables / "demo" / "colour.yaml"
    colours.write_text(
        colours.read_text(encoding="utf-8").replace("  Kaki: green\n", ""), encoding="utf-8"
    )
    common_table = tables / "_common" / "colour.yaml"
    common_table.write_text(
        common_table.read_text(encoding="utf-8").replace("  kaki: green\n", ""), encoding="utf-8"
    )
    write_items(
        open_store(store),
        [
            listing(str(n), "robes", colors=["Kaki", "Noir"] if n % 2 else ["Rouge"])
            for n in range(6)
        ],
        "raw/demo/robes/items/r1-00001.jsonl",
    )
    common = ["--store", str(store), "--site", "demo", "--tables", str(tables)]
    code, out, _ = in_process(capsys, "unmapped", *common, "--format", "json")
    assert code == 0
    # The report is saved next to the site's records, as printed.
    saved = open_store(store).read_json("raw/demo/unmapped-summary.json")
    assert saved == json.loads(out)
    assert saved["summary"]["saved"] == str(store / "raw/demo/unmapped-summary.json")
    assert saved["summary"]["coverage"]["colour"]["coverage"] == 0.5
    (row,) = json.loads(out)["unmapped"]
    assert (row["task"], row["value"], row["listings"], row["suggestion"]) == (
        "colour",
        "kaki",
        3,
        "green",
    )
    assert row["example_urls"][0] == "http://127.0.0.1:8/articles/1-article"
    assert row["table"] == str(colours)
    text = in_process(capsys, "unmapped", *common)[1]
    assert f"add under `values:` of {colours}\n    Kaki: green  # high, 3 listings: " in text
    csv_out = in_process(capsys, "unmapped", *common, "--format", "csv")[1]
    assert csv_out.splitlines()[1].startswith("colour,kaki,Kaki,3,0.5,Kaki,")

    out_dir = str(tmp_path / "out")
    assert in_process(capsys, "map", *common, "--out", out_dir, "--strict")[0] == 1
    with colours.open("a", encoding="utf-8") as handle:
        handle.write("  Kaki: green\n")
    code, out, _ = in_process(
        capsys, "map", *common, "--out", out_dir, "--strict", "--format", "json"
    )
    assert code == 0
    summary = json.loads(out)
    assert summary["fully_mapped"] and summary["coverage"]["colour"]["coverage"] == 1.0
    assert open_store(out_dir).read_json("map-summary.json") == json.loads(out)
    assert "every value is mapped" in in_process(capsys, "unmapped", *common)[1]
    saved = open_store(store).read_json("raw/demo/unmapped-summary.json")
    assert saved["unmapped"] == [] and saved["summary"]["unmapped_values"] == 0


def test_bad_table_stops_the_command_with_file_and_line(tmp_path: Path) -> None:
    tables = tmp_path / "tables"
    shutil.copytree(MAPPINGS_ROOT, tables)
    with (tables / "demo" / "gender.yaml").open("a", encoding="utf-8") as handle:
        handle.write("  Hommes: man\n")
    fill_store(str(tmp_path / "store"))
    done = s2s_dataset(
        "map",
        "--store",
        str(tmp_path / "store"),
        "--site",
        "demo",
        "--tables",
        str(tables),
        "--out",
        str(tmp_path / "out"),
    )
    assert done.returncode == 2
    assert done.stderr.startswith("s2s-dataset: error: ")
    assert "gender.yaml:10: duplicate key 'Hommes' (first defined on line 4)" in done.stderr
    assert not (tmp_path / "out" / "labelled.parquet").exists()


def test_empty_store_and_unusable_files_are_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"no listing records .*the store holds no listings"):
        map_listings(open_store(tmp_path), "demo", MapConfig())
    write_items(open_store(tmp_path), [], "raw/other/robes/items/a.jsonl", extra="{}\n")
    with pytest.raises(UserError, match=r"raw/demo: no listing records.*sites with data: other"):
        map_listings(open_store(tmp_path), "demo", MapConfig())
    with pytest.raises(UserError, match=r"no valid listing record in 1 file.*a.jsonl:1: missing"):
        map_listings(open_store(tmp_path), "other", MapConfig())

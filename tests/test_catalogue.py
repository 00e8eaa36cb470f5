"""merge-catalogue: a house export with multi-valued id cells, codes, pairs, bad input."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from dataset.catalogue.codes import parse_codes
from dataset.catalogue.merge import MergeConfig, merge_catalogue, split_codes
from dataset.cli import main
from dataset.core.errors import UserError
from dataset.core.store import open_store
from dataset.taxonomy.schema import load_taxonomy

CODES = """\
version: 7
colour: {1: black, 9: blue, 17: white, 23: ignore}
material: {1: cotton, 4: [cotton, elastane]}
gender: {1: women, 2: men}
type:
  Blouson: jackets-coats
  trench: jackets-coats
  perfecto: jackets-coats
  robe: dresses
"""
EXPORT = """\
product_id,view_1,view_2,view_3,view_4,view_5,colour_ids,material_ids,gender_id,product_type
P1,img/P1-1.jpg,img/P1-2.jpg,img/P1-3.jpg,,,"9,17",4,1,blousons
P2,img/P2-1.jpg,img/P2-2.jpg,,,,"1, 23",1,"1,2",Trench
P3,img/P3-1.jpg,,,,,"9,42",77,3,robe
P4,img/P4-1.jpg,img/P4-2.jpg,,,,1,1,1,chaussure
P5,,,,,,1,1,1,robe
"""


def test_split_codes() -> None:
    assert split_codes("9,17", "colour") == ["9", "17"]
    assert split_codes(" 9 ; 17 ", "colour") == ["9", "17"]
    assert split_codes(9.0, "colour") == ["9"]
    assert split_codes(float("nan"), "colour") == []
    assert split_codes("Blousons", "type") == ["blouson"]


def test_merge_with_multi_valued_cells_unknown_codes_and_pairs() -> None:
    tax = load_taxonomy()
    codes = parse_codes(CODES, "codes.yaml", tax)
    export = pd.read_csv(io.StringIO(EXPORT), dtype=str, keep_default_na=False)
    marketplace = pd.DataFrame(
        {
            "image_path": ["raw/demo/images/full/a.jpg", "raw/demo/images/full/b.jpg"],
            "site": "demo",
            "item_id": ["11", "12"],
            "colour": [["blue"], ["red"]],
            "material": [[], ["wool"]],
            "gender": [["women"], ["men"]],
            "type": [["jackets-coats"], ["sweaters"]],
        }
    )
    pairs = pd.DataFrame(
        {"site": ["demo", "demo"], "item_id": ["11", "99"], "pair_id": ["P1", "P3"]}
    )
    manifest, summary = merge_catalogue(
        export, codes, tax, MergeConfig(image_prefix="catalogue/x/"), marketplace, pairs
    )
    shop = manifest[manifest.source == "catalogue"]
    assert shop["image_path"].tolist() == [
        "catalogue/x/img/P1-1.jpg",
        "catalogue/x/img/P1-2.jpg",  # view 3 dropped: two views kept by default
        "catalogue/x/img/P2-1.jpg",
        "catalogue/x/img/P2-2.jpg",
        "catalogue/x/img/P3-1.jpg",
    ]
    p1 = shop.iloc[0]
    assert (p1.colour, p1.material, p1.gender, p1.type) == (
        ["white", "blue"],
        ["cotton", "elastane"],
        ["women"],
        ["jackets-coats"],
    )
    p2 = shop.iloc[2]
    assert (p2.colour, p2.gender, p2.type) == (["black"], ["men", "women"], ["jackets-coats"])
    assert set(shop["domain"]) == {"shop"} and shop["item_id"].isna().all()
    assert summary["unknown_codes"] == {
        "colour": {"42": 1},
        "material": {"77": 1},
        "gender": {"3": 1},
        "type": {"chaussure": 1},
    }
    assert summary["excluded_products"] == {"type_unknown_or_missing": 1, "no_image": 1}
    assert (summary["products_in"], summary["products_out"], summary["images_out"]) == (5, 3, 5)
    assert summary["coverage"]["type"] == 0.8
    # Pairs: listing 11 shows P1; listing 99 was not crawled, so P3 stays unpaired.
    assert dict(zip(shop["product_id"], shop["pair_id"], strict=True)) == {
        "P1": "P1",
        "P2": None,
        "P3": None,
    }
    user = manifest[manifest.source == "marketplace"]
    assert user["pair_id"].tolist() == ["P1", None] and set(user["domain"]) == {"user"}
    assert summary["pairs"] == {"pairs_in": 2, "matched": 1, "products_paired": 1}
    assert list(manifest.columns) == [
        "image_path",
        "source",
        "domain",
        "site",
        "item_id",
        "product_id",
        "colour",
        "material",
        "gender",
        "type",
        "pair_id",
    ]


def test_customers_photos_are_user_rows_paired_with_their_product() -> None:
    tax = load_taxonomy()
    codes = parse_codes(CODES, "codes.yaml", tax)
    export = pd.read_csv(io.StringIO(EXPORT), dtype=str, keep_default_na=False)
    export["shopper_1"] = ["img/P1-s1.jpg", "", "img/P3-s1.jpg", "img/P4-s1.jpg", ""]
    manifest, summary = merge_catalogue(export, codes, tax, MergeConfig())
    user = manifest[manifest["domain"] == "user"]
    # P4's type is unknown: the product and its customer's photo are both left out
    assert user["image_path"].tolist() == ["img/P1-s1.jpg", "img/P3-s1.jpg"]
    assert set(user["source"]) == {"catalogue"} and user["item_id"].isna().all()
    assert user["pair_id"].tolist() == ["P1", "P3"] and user["type"].tolist() == [
        ["jackets-coats"], ["dresses"]]  # fmt: skip
    pairs = dict(zip(manifest["image_path"], manifest["pair_id"], strict=True))
    assert pairs["img/P1-1.jpg"] == "P1" and pairs["img/P2-1.jpg"] is None
    assert summary["shopper_images_out"] == 2 and summary["images_out"] == 7


def test_merge_command_parquet_export_on_s3(
    s3_bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = open_store(f"{s3_bucket}/s2s")
    export = pd.read_csv(io.StringIO(EXPORT), dtype=str, keep_default_na=False)
    store.write_parquet("catalogue/house/export.parquet", export)
    store.write_text("catalogue/house/codes.yaml", CODES)
    out = f"{s3_bucket}/s2s/datasets/house/v1"
    code = main(
        [
            "merge-catalogue",
            "--catalogue",
            f"{s3_bucket}/s2s/catalogue/house/export.parquet",
            "--codes",
            f"{s3_bucket}/s2s/catalogue/house/codes.yaml",
            "--views",
            "3",
            "--out",
            out,
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0
    assert "5 products in, 3 products / 6 images out" in printed
    assert "unknown codes: {'colour': {'42': 1}" in printed
    result = open_store(out)
    manifest = result.read_parquet("manifest.parquet")
    assert len(manifest) == 6 and manifest["pair_id"].isna().all()
    assert list(manifest.iloc[0]["colour"]) == ["white", "blue"]
    assert result.read_json("merge-summary.json")["unknown_codes"]["type"] == {"chaussure": 1}
    assert "jackets-coats" in result.read_text("taxonomy.yaml")


@pytest.mark.parametrize(
    ("codes", "message"),
    [
        (
            "colour: {1: black, 9: navy}\n",
            r"codes.yaml:1: '9' maps to 'navy', which is not a colour",
        ),
        (
            "colour:\n  1: black\n  1: white\n",
            r"codes.yaml:3: duplicate key 1 \(first defined on line 2\)",
        ),
        ("colour: {1: black, '1': white}\n", r"codes.yaml:1: code '1' is defined twice"),
        ("colours: {1: black}\n", r"codes.yaml:1: unknown task 'colours'"),
        ("type: {robe: [dresses, skirts]}\n", r"codes.yaml:1: .*single-label"),
    ],
)
def test_bad_code_tables(codes: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        parse_codes(codes, "codes.yaml", load_taxonomy())


def test_bad_export_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "codes.yaml").write_text(CODES, encoding="utf-8")
    (tmp_path / "export.csv").write_text("product_id,view_1,colour\nP1,a.jpg,1\n", encoding="utf-8")
    (tmp_path / "export.txt").write_text("x", encoding="utf-8")
    base = [
        "merge-catalogue",
        "--codes",
        str(tmp_path / "codes.yaml"),
        "--out",
        str(tmp_path / "o"),
    ]
    assert main([*base, "--catalogue", str(tmp_path / "export.csv")]) == 2
    err = capsys.readouterr().err
    assert "export.csv: missing column(s) colour_ids, material_ids, gender_id, product_type" in err
    assert main([*base, "--catalogue", str(tmp_path / "export.txt")]) == 2
    assert "must be a .csv or .parquet file" in capsys.readouterr().err
    assert main([*base, "--catalogue", str(tmp_path / "nope.csv")]) == 2
    assert "nope.csv: no such object in store" in capsys.readouterr().err
    assert main([*base, "--catalogue", str(tmp_path / "export.csv"), "--views", "7"]) == 2
    assert (
        "--views: Input should be less than or equal to 5. Received: 7" in capsys.readouterr().err
    )
    assert not (tmp_path / "o" / "manifest.parquet").exists()

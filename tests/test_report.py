"""The dataset report of a tiny build with fallbacks, duplicates and bad inputs.

Every figure on the page is checked against the stage records it claims to come from,
every gallery's 'showing N of M' against those records, and the page is opened in the
system's headless Chromium at a phone and a desktop width.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dataset.core.store import Store
from dataset.report.config import OutlierConfig
from dataset.report.outliers import Measure, flags, measure
from tests.browser_fixtures import system_chromium
from tests.report_fixtures import BAD_PHOTOS, PREFIX, build_review_dataset

bs4 = pytest.importorskip("bs4")

WIDTHS = (420, 1400)


@pytest.fixture(scope="module")
def review(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, Path, str]:
    folder = tmp_path_factory.mktemp("review")
    store = build_review_dataset(folder)
    return store, folder, store.read_text(f"{PREFIX}/report.html")


def _summary(store: Store, stage: str) -> dict[str, Any]:
    return dict(store.read_json(f"{PREFIX}/stages/{stage}.json")["summary"])


def _lookup(summary: dict[str, Any], path: str) -> Any:
    value: Any = summary
    for part in path.split("."):
        value = value[part]
    return value


def _blocks(html: str) -> dict[str, Any]:
    soup = bs4.BeautifulSoup(html, "html.parser")
    return {block["data-name"]: block for block in soup.select(".filterable")}


def test_every_figure_on_the_page_is_its_stage_record(review: tuple[Store, Path, str]) -> None:
    store, _, html = review
    soup = bs4.BeautifulSoup(html, "html.parser")
    figures = soup.select("[data-record]")
    seen = set()
    for tag in figures:
        stage, _, path = tag["data-record"].partition(".")
        expected = _lookup(_summary(store, stage), path)
        assert float(tag.get_text()) == pytest.approx(float(expected), abs=1e-9), tag
        seen.add(tag["data-record"])
    segment, dedup, check = (_summary(store, s) for s in ("segment", "dedup", "check"))
    assert segment["fallback"] > 0 and dedup["clusters_with_duplicates"] >= 2
    # The two relists the fixture plants (identical bytes, shifted copy) are among them.
    pairs = store.read_parquet("datasets/demo/v1/duplicates.parquet")
    clustered = pairs[pairs["decision"] == "clustered"]
    assert {"relist-0.jpg", "relist-1.jpg"} <= {
        p.rsplit("/", 1)[-1] for p in clustered["image_path_b"]
    }
    assert len(check["bad"]) == len(BAD_PHOTOS)
    required = {
        *(f"segment.{k}" for k in ("images", "segmented", "fallback", "bad")),
        *(f"segment.fallback_reasons.{k}" for k in segment["fallback_reasons"]),
        *(f"dedup.{k}" for k in ("candidate_pairs", "confirmed_pairs", "rows_removed")),
        "dedup.clusters_with_duplicates",
        *(f"check.{k}" for k in ("checked", "usable")),
        *(f"check.bad_by_reason.{k}" for k in check["bad_by_reason"]),
        *(f"split.rows.{k}" for k in ("train", "val", "test")),
        "split.dropped_duplicates",
        "rebalance.draws",
        *(f"rebalance.factors.{k}" for k in _summary(store, "rebalance")["factors"]),
    }
    assert required <= seen, required - seen
    # The overview's one derived figure: the bad inputs of every stage's list together.
    assert int(soup.select_one(".bad-total").get_text()) == len(check["bad"]) + len(
        dedup["bad_images"]
    ) + len(segment["bad_images"])


def test_each_gallery_says_n_of_m_from_the_records(review: tuple[Store, Path, str]) -> None:
    store, _, html = review
    blocks = _blocks(html)
    totals = {
        "clusters": _summary(store, "dedup")["clusters_with_duplicates"],
        "segmentation": _summary(store, "segment")["images"],
        "bad-inputs": len(_summary(store, "check")["bad"]),
        "samples": len(store.read_parquet(f"{PREFIX}/manifest.parquet")),
    }
    assert set(blocks) == {
        "clusters",
        "near-misses",
        "segmentation",
        "samples",
        "outliers",
        "bad-inputs",
    }
    for name, block in blocks.items():
        shown = int(block.select_one(".count .shown").get_text())
        total = int(block.select_one(".count .total").get_text())
        assert shown == len(block.select(".item")) and shown <= total, name
        if name in totals:
            assert total == totals[name], name


def test_galleries_show_the_decisions_with_their_reasons(review: tuple[Store, Path, str]) -> None:
    store, folder, html = review
    blocks = _blocks(html)
    segments = blocks["segmentation"].select(".item")
    decisions = {(i["data-k-domain"], i["data-k-decision"]) for i in segments}
    assert ("user", "fallback: mask too small") in decisions
    assert {"user", "shop"} <= {domain for domain, d in decisions if d == "segmented"}
    assert segments[0]["data-k-decision"].startswith("fallback")  # the weakness first
    clusters = blocks["clusters"].get_text(" ")
    assert "identical: identical bytes" in clusters and re.search(
        r"verified: .*ncc 0\.\d{3}", clusters
    )
    assert re.search(r"weakest pair 0\.\d{3}", clusters)  # a verified pair's own score
    assert "kept" in clusters and "removed" in clusters
    misses = blocks["near-misses"].select(".item")
    scores = [float(i["data-s-score"]) for i in misses]
    assert scores == sorted(scores, reverse=True) and misses
    samples = blocks["samples"].select(".item")
    assert all(len(i.select(".labels dt")) == 4 for i in samples)  # every house task
    assert any(i.select(".raw") for i in samples if i["data-k-domain"] == "user")
    bad = blocks["bad-inputs"].get_text(" ")
    for path in BAD_PHOTOS:
        assert path in bad
    assert "not an image" in bad and "corrupt or truncated" in bad
    assert str(folder) not in html  # no machine path on the page
    assert '<meta name="viewport" content="width=device-width' in html
    assert "break-all" not in html  # words are never cut in the middle
    assert len(html) < 400_000


def test_segmentation_counts_per_domain_add_up(review: tuple[Store, Path, str]) -> None:
    store, _, html = review
    soup = bs4.BeautifulSoup(html, "html.parser")
    table = soup.select_one("#segmentation table")
    heads = [th.get_text() for th in table.select("th")]
    rows = [[td.get_text() for td in tr.select("td")] for tr in table.select("tbody tr")]
    fallback = sum(int(r[heads.index("fallback")]) for r in rows)
    images = sum(int(r[heads.index("images")]) for r in rows)
    summary = _summary(store, "segment")
    assert (fallback, images) == (summary["fallback"], summary["images"])


def test_report_links_the_evaluation_pages_of_its_version(
    review: tuple[Store, Path, str], tmp_path: Path
) -> None:
    import shutil

    from dataset.build.run import build
    from dataset.core.store import open_store

    store, folder, _ = review
    shutil.copytree(folder / "store", tmp_path / "store")
    copy = open_store(tmp_path / "store")
    # What `s2s-train evaluate` and `eval-retrieval` leave (their records name the version).
    version = str(tmp_path / "store" / PREFIX)
    pages = {
        "models/enc/r1/eval/test": ("metrics.json", {"dataset": version}),
        "eval/demo": ("report.json", {"source": f"{version}/manifest.parquet"}),
        "models/enc/r0/eval/test": ("metrics.json", {"dataset": "/elsewhere/datasets/demo/v0"}),
    }
    for where, (name, record) in pages.items():
        copy.write_json(f"{where}/{name}", record)
        copy.write_text(f"{where}/index.html", "<!doctype html><title>evaluation</title>")
    summary = build(folder / "dataset.yaml", copy.uri, show_progress=False)
    ran = {name for name, stage in summary["stages"].items() if stage["status"] == "ran"}
    assert ran == {"report"}  # a new evaluation reruns the report only
    soup = bs4.BeautifulSoup(copy.read_text(f"{PREFIX}/report.html"), "html.parser")
    links = {a["href"] for a in soup.select("#overview ul a")}
    assert links == {"../../../models/enc/r1/eval/test/index.html", "../../../eval/demo/index.html"}
    for href in links:
        assert (tmp_path / "store" / PREFIX / href).resolve().is_file()


def _image(pixels: np.ndarray) -> bytes:
    import cv2

    ok, data = cv2.imencode(".png", pixels)
    assert ok
    return data.tobytes()


def test_outlier_measures_flag_what_they_name() -> None:
    config = OutlierConfig()
    rng = np.random.default_rng(0)
    sharp = (np.indices((128, 128)).sum(axis=0) // 32 % 2 * 255).astype(np.uint8)
    import cv2

    cases = {
        "sharp": (sharp, []),
        "blurred": (cv2.GaussianBlur(sharp, (0, 0), 4), ["blurred"]),
        "blank": (np.full((128, 128), 250, np.uint8), ["blurred", "nearly blank"]),
        "tiny strip": (rng.integers(0, 255, (20, 90), dtype=np.uint8), ["tiny", "extreme aspect"]),
        # a second kind of picture: noise texture, not stripes
        "noise": (rng.integers(0, 255, (200, 150), dtype=np.uint8), []),
    }
    for name, (pixels, expected) in cases.items():
        found = measure(_image(pixels), config.measure_side)
        assert found is not None and flags(found, config) == expected, name
    assert measure(b"not an image", 256) is None
    assert flags(Measure(300, 300, 500.0, 50.0), config) == []


def test_report_in_a_real_browser(
    review: tuple[Store, Path, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    chromium = system_chromium()
    from playwright.sync_api import sync_playwright

    store, _, _ = review
    url = Path(store.local_path(f"{PREFIX}/report.html")).resolve().as_uri()
    shots = tmp_path_factory.mktemp("report-screenshots")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            for width in WIDTHS:
                page, errors = _open(browser, width, url)
                overflow = page.evaluate(
                    "document.documentElement.scrollWidth - document.documentElement.clientWidth"
                )
                assert overflow <= 0, f"{width} px: scrolls sideways by {overflow} px"
                page.screenshot(path=str(shots / f"report-{width}.png"), full_page=True)
                assert (shots / f"report-{width}.png").stat().st_size > 10_000
                _check_counts_and_filters(page)
                assert errors == [], errors
                page.close()
            _check_evaluation_page(browser, tmp_path_factory.mktemp("evaluation"))
            no_script = browser.new_page(
                java_script_enabled=False, viewport={"width": 420, "height": 900}
            )
            no_script.goto(url)
            assert no_script.locator(".controls").count() == 0
            assert no_script.locator(".item:visible").count() == no_script.locator(".item").count()
        finally:
            browser.close()
    print(f"report screenshots: {shots}")


def _open(browser: Any, width: int, url: str) -> tuple[Any, list[str]]:
    """A page at ``width`` px and the list its console errors and page errors go to."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    return page, errors


def _check_evaluation_page(browser: Any, folder: Path) -> None:
    """An evaluation page (multi-label figures) in the report's style fits a phone too."""
    from training.evaluation import confusion_png, evaluation_page, label_confusion_png

    report = {
        "classes": ["red", "green", "blue"],
        "n": 4,
        "accuracy": 0.75,
        "confusion": {"matrix": [[2, 1, 0], [0, 1, 0], [1, 0, 2]]},
        "label_confusion": {c: [[2, 0], [1, 1]] for c in ("red", "green", "blue")},
    }
    figures = {
        "colour: label pairs": confusion_png(report, "colour", "test"),
        "colour: per label": label_confusion_png(report, "colour", "test"),
    }
    result = {"model": str(folder / "models/enc/r1"), "dataset": str(folder / "datasets/x/v1")}
    html = evaluation_page({**result, "split": "test", "tasks": {"colour": report}}, figures, None)
    assert str(folder) not in html
    (folder / "index.html").write_text(html, encoding="utf-8")
    page, errors = _open(browser, 420, (folder / "index.html").as_uri())
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    widths = page.locator("figure.figure img").evaluate_all("els => els.map(e => e.clientWidth)")
    assert len(widths) == 2 and min(widths) > 200 and errors == []
    page.close()


def _check_counts_and_filters(page: Any) -> None:
    for block in page.locator(".filterable").all():
        shown = int(block.locator(".count .shown").inner_text())
        assert shown == block.locator(".item").count()
    segmentation = page.locator('.filterable[data-name="segmentation"]')
    segmentation.locator('select[data-control="domain"]').select_option("user")
    visible = segmentation.locator(".item:visible")
    assert 0 < visible.count() < segmentation.locator(".item").count()
    assert {visible.nth(i).get_attribute("data-k-domain") for i in range(visible.count())} == {
        "user"
    }
    assert int(segmentation.locator(".count .shown").inner_text()) == visible.count()
    segmentation.locator('select[data-control="domain"]').select_option("")
    classes = segmentation.locator('select[data-control="class"] option').all_inner_texts()
    segmentation.locator('select[data-control="class"]').select_option(classes[1])
    assert segmentation.locator(".item:visible").count() > 0
    assert all(
        segmentation.locator(".item:visible").nth(i).get_attribute("data-k-class") == classes[1]
        for i in range(segmentation.locator(".item:visible").count())
    )
    segmentation.locator('select[data-control="class"]').select_option("")
    samples = page.locator('.filterable[data-name="samples"]')
    samples.locator('select[data-control="split"]').select_option("val")
    assert all(
        samples.locator(".item:visible").nth(i).get_attribute("data-k-split") == "val"
        for i in range(samples.locator(".item:visible").count())
    )
    table = page.locator("#bad table")
    table.locator("th button").nth(2).click()
    assert table.locator("th").nth(2).get_attribute("aria-sort") == "ascending"
    reasons = table.locator("tbody tr td:nth-child(3)").all_inner_texts()
    assert reasons == sorted(reasons) and len(reasons) > 1


def test_figures_name_a_source_by_its_last_segments_only() -> None:
    from dataset.report.figures import short_name

    assert short_name("/home/ana/data/datasets/demo/v1/") == "demo/v1"
    assert short_name("s3://bucket/datasets/demo/v1/manifest.parquet") == "demo/v1"
    assert short_name("C:\\data\\df2\\validation") == "df2/validation"

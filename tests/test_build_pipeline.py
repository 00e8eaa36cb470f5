"""The whole pipeline on the demo world: crawled listings + catalogue export -> shards.

Runs the other parts' stages (label mapping, catalogue merge, dedup, segmentation)
through the build registry, exactly as ``make demo`` does, on a few tiny images.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dataset.build.config import DEFAULT_STAGES, load_config
from dataset.build.run import build
from dataset.core.store import open_store
from tests.buildds_fixtures import write_demo_world

ROOT = Path(__file__).resolve().parents[1]

for module in ("dataset.mapping.marketplace", "dataset.dedup", "dataset.segmentation"):
    pytest.importorskip(module)


def test_demo_config_is_valid() -> None:
    config = load_config(ROOT / "dataset" / "configs" / "demo.yaml")
    assert config.stages == DEFAULT_STAGES
    assert config.sections["rebalance"].cap == 2.5


def test_full_pipeline_from_raw_listings_to_shards(tmp_path: Path) -> None:
    store = open_store(tmp_path / "store")
    photos = write_demo_world(store, items_per_category=2, size=64)
    config = tmp_path / "dataset.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "name": "demo",
                "version": "v1",
                "dedup": {"workers": 1},
                "segment": {"workers": 1},
                "export": {"image_size": 32, "shard_size": 64, "writer": "python"},
                "report": {"samples_per_class": 2, "thumbnail_size": 48},
            }
        ),
        encoding="utf-8",
    )
    summary = build(config, store.uri, show_progress=False)
    assert [name for name in summary["stages"]] == DEFAULT_STAGES
    prefix = "datasets/demo/v1"
    manifest = store.read_parquet(f"{prefix}/manifest.parquet")
    sources = manifest["source"].value_counts().to_dict()
    assert sources["marketplace"] > 0 and sources["catalogue"] > 0
    assert sources["marketplace"] <= photos
    assert manifest.groupby("dup_cluster")["split"].nunique().max() == 1
    paired = manifest.dropna(subset=["pair_id"])
    assert len(paired) > 0
    assert paired.groupby("pair_id")["split"].nunique().max() == 1
    index = store.read_json(f"{prefix}/shards/index.json")
    assert sum(s["records"] for s in index["splits"].values()) == len(manifest)
    assert list(index["tasks"]) == ["colour", "material", "gender", "type"]
    report = store.read_text(f"{prefix}/report.html")
    assert "Near-duplicate clusters" in report and "cut-out" in report
    again = build(config, store.uri, show_progress=False)
    assert {r["status"] for r in again["stages"].values()} == {"cached"}

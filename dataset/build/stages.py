"""The stages of ``s2s-dataset build``, registered by name (see :mod:`dataset.pipeline.engine`).

Each is a thin adapter: it reads its input frame, calls one module's entry function and
hands back a frame, a summary and files. The label-mapping, catalogue-merge, dedup and
segmentation stages call the entry functions of their own modules, imported when the
stage runs. A build that starts from an existing manifest uses ``load`` instead of
``map`` and ``merge``.
"""

from __future__ import annotations

import importlib
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, create_model

from dataset.pipeline.engine import StageContext, StageOutput, stage


class LoadConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    manifest: str = Field(description="store key of a manifest parquet to start from")


def _entry(module: str, function: str) -> Any:
    return getattr(importlib.import_module(module), function)


def _model(module: str, name: str) -> Any:
    return lambda: getattr(importlib.import_module(module), name)


def _map_config() -> type[BaseModel]:
    from dataset.mapping.marketplace import MapConfig

    return create_model(
        "MapStageConfig",
        __base__=MapConfig,
        sites=(list[str], Field(default_factory=lambda: ["demo"], description="sites to map")),
    )


def _merge_config() -> type[BaseModel]:
    from dataset.catalogue.merge import MergeConfig

    return create_model(
        "MergeStageConfig",
        __base__=MergeConfig,
        catalogue=(str, Field("catalogue/demo/export.csv", description="export store key")),
        codes=(str, Field("catalogue/demo/codes.yaml", description="code table store key")),
        pairs=(str | None, Field("catalogue/demo/pairs.csv", description="true pairs, or null")),
    )


def _raw_items(context: StageContext) -> list[str]:
    return [
        key
        for site in context.config.sites
        for key in context.store.list(f"raw/{site}/")
        if key.endswith(".jsonl")
    ]


def _catalogue_inputs(context: StageContext) -> list[str]:
    config = context.config
    return [key for key in (config.catalogue, config.codes, config.pairs) if key]


@stage("load", config=lambda: LoadConfig, external=lambda c: [c.config.manifest])
def load_stage(context: StageContext) -> StageOutput:
    """Start from a manifest already in the store."""
    frame = context.store.read_parquet(context.config.manifest)
    return StageOutput(frame, {"rows": len(frame)})


@stage("map", config=_map_config, external=_raw_items)
def map_stage(context: StageContext) -> StageOutput:
    """Map each site's raw listing labels onto the house taxonomy."""
    from dataset.core.errors import UserError
    from dataset.mapping.marketplace import map_listings

    config = context.config
    if config.taxonomy is None:
        config = config.model_copy(update={"taxonomy": context.settings["taxonomy_path"]})
    frames, summaries = [], {}
    for site in config.sites:
        frame, summary = map_listings(context.store, site, config)
        frames.append(frame)
        summaries[site] = summary
    if not frames:
        raise UserError("map: no site to map (map.sites is empty)")
    return StageOutput(pd.concat(frames, ignore_index=True), {"sites": summaries})


@stage("merge", config=_merge_config, external=_catalogue_inputs)
def merge_stage(context: StageContext) -> StageOutput:
    """Merge the mapped listings with the house catalogue export into one manifest."""
    from dataset.catalogue.codes import parse_codes
    from dataset.catalogue.merge import merge_catalogue
    from dataset.core.uri import read_table
    from dataset.taxonomy.schema import load_taxonomy

    config, store = context.config, context.store
    taxonomy = load_taxonomy(context.settings["taxonomy_path"])
    codes = parse_codes(store.read_text(config.codes), store.uri_for(config.codes), taxonomy)
    export = read_table(store.uri_for(config.catalogue), "catalogue export")
    pairs = read_table(store.uri_for(config.pairs), "pairs table") if config.pairs else None
    marketplace = context.frame() if context.previous else None
    frame, summary = merge_catalogue(
        export, codes, taxonomy, config, marketplace, pairs, source=store.uri_for(config.catalogue)
    )
    return StageOutput(frame, summary)


@stage("check", config=_model("dataset.images.check", "CheckConfig"))
def check_stage(context: StageContext) -> StageOutput:
    """Set aside missing, corrupt, truncated, non-image and oversized images."""
    from dataset.images.check import check_images

    frame = context.frame()
    good, summary = check_images(context.store, frame, context.config, context.progress(len(frame)))
    return StageOutput(good, summary)


@stage("dedup", config=_model("dataset.dedup", "DedupConfig"), own_progress=True)
def dedup_stage(context: StageContext) -> StageOutput:
    """Find near-duplicate images: ``dup_cluster`` and ``dup_keep`` per row."""
    find_duplicates = _entry("dataset.dedup", "find_duplicates")
    frame, summary = find_duplicates(
        context.store,
        context.frame(),
        context.config,
        out=context.prefix,
        progress=context.show_progress,
    )
    return StageOutput(frame, summary)


def _localiser_model(context: StageContext) -> list[str]:
    # A retrained localiser at the same key changes the cuts: it is an input of the stage.
    return [context.config.localiser] if context.config.localiser else []


@stage(
    "segment",
    config=_model("dataset.segmentation", "SegmentConfig"),
    external=_localiser_model,
    own_progress=True,
)
def segment_stage(context: StageContext) -> StageOutput:
    """Cut the garment out of its background: ``segmented_path`` per row."""
    segment_images = _entry("dataset.segmentation", "segment_images")
    frame, summary = segment_images(
        context.store,
        context.frame(),
        context.config,
        out=context.prefix,
        progress=context.show_progress,
    )
    return StageOutput(frame, summary)


@stage("split", config=_model("dataset.split.assign", "SplitConfig"))
def split_stage(context: StageContext) -> StageOutput:
    """Drop the duplicates not kept, then split train/val/test without leakage."""
    from dataset.split.assign import split_frame

    frame = context.frame()
    dropped = 0
    if "dup_keep" in frame:
        keep = frame["dup_keep"].fillna(True).astype(bool)
        dropped = int((~keep).sum())
        frame = frame[keep].reset_index(drop=True)
    out, summary = split_frame(frame, context.config)
    return StageOutput(out, {**summary, "dropped_duplicates": dropped})


@stage("rebalance", config=_model("dataset.split.balance", "BalanceConfig"))
def rebalance_stage(context: StageContext) -> StageOutput:
    """Upsample minority classes of the training split (integer ``repeat``)."""
    from dataset.split.balance import rebalance

    out, summary = rebalance(context.frame(), context.config)
    return StageOutput(out, summary)


@stage("weights", config=_model("dataset.split.weights", "WeightsConfig"))
def weights_stage(context: StageContext) -> StageOutput:
    """Per-label presence/absence weights of the weighted loss (label_weights.json)."""
    import json

    from dataset.split.weights import label_weights

    weights, warnings = label_weights(context.frame(), context.specs, context.config)
    text = json.dumps(weights, indent=2, sort_keys=True) + "\n"
    return StageOutput(
        None,
        {"n_samples": weights["n_samples"], "warnings": warnings},
        files={"label_weights.json": text.encode()},
    )


@stage("export", config=_model("dataset.shards.export", "ExportConfig"))
def export_stage(context: StageContext) -> StageOutput:
    """Write the TFRecord shards, the final manifest and the taxonomy beside them."""
    import io

    from dataset.shards.export import export_shards

    frame = context.frame()
    out, summary = export_shards(
        context.store,
        frame,
        context.specs,
        context.prefix,
        context.config,
        context.progress(len(frame)),
    )
    buffer = io.BytesIO()
    out.to_parquet(buffer, index=False)
    taxonomy = context.settings.get("taxonomy_text", "")
    files = {"manifest.parquet": buffer.getvalue(), "taxonomy.yaml": taxonomy.encode()}
    return StageOutput(out, summary, files=files, written=summary.pop("files"))


@stage(
    "report",
    config=_model("dataset.report.config", "ReportConfig"),
    needs=("map", "check", "dedup", "segment", "split", "rebalance", "weights"),
    external=lambda c: _entry("dataset.report.evaluations", "evaluation_records")(
        c.store, c.prefix
    ),
    version=2,
)
def report_stage(context: StageContext) -> StageOutput:
    """The dataset report (report.html), self-contained."""
    from dataset.report.page import build_report

    html, summary = build_report(context)
    return StageOutput(None, summary, files={"report.html": html.encode()})

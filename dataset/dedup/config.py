"""The validated settings of the dedup stage (a ``dedup:`` section of ``dataset.yaml``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from dataset.images.safe import DEFAULT_MAX_PIXELS

HASH_KINDS = ("phash", "dhash", "whash", "ahash")
KeepCriterion = Literal["prefer_catalogue", "larger_image", "older_listing", "image_path"]


def _default_keep_rule() -> list[KeepCriterion]:
    return ["prefer_catalogue", "larger_image", "older_listing"]


class DedupConfig(BaseModel):
    """Stage 1 (hash candidates), stage 2 (verification), clusters and the keep rule.

    Example (YAML)::

        dedup:
          hashes: [phash, phash_object]
          radius: 10
          verify: true
          keep_rule: [prefer_catalogue, larger_image, older_listing]
    """

    model_config = ConfigDict(extra="forbid")

    # Stage 1. Each hash is searched separately and the candidates are united.
    # ``<kind>_object`` hashes the object cropped from a plain backdrop: it survives
    # shifts and small crops that move plain pHash by 20+ bits (see docs/dedup.md).
    hashes: list[str] = Field(default_factory=lambda: ["phash", "phash_object"], min_length=1)
    radius: int = Field(10, ge=0, le=24)  # Hamming radius (of 64 bits) for candidates
    decode_size: int = Field(128, ge=32, le=1024)  # JPEG DCT downscale keeps sides >= this
    max_pixels: int = Field(DEFAULT_MAX_PIXELS, gt=0)  # larger: a decompression bomb
    workers: int | None = Field(None, ge=1)  # processes; None: every core
    hash_cache_key: str | None = None  # None: <out>/hashes.parquet

    # Stage 2 (dataset.dedup.verify). Thresholds measured on the generated set of
    # bench/dedup_bench.py (2,000 distinct photos, 256 px): min_edge_ncc 0.86 let 1,572
    # same-cut, same-colour garments through (precision 0.56); 0.94 gives recall 0.99,
    # precision 0.96. Measurements and the trade-off: docs/dedup.md.
    verify: bool = True
    thumb_size: int = Field(96, ge=16, le=256)
    min_ncc: float = Field(0.90, ge=-1.0, le=1.0)
    min_edge_ncc: float = Field(0.94, ge=-1.0, le=1.0)
    max_chroma: float = Field(6.0, ge=0.0)  # mean CIELAB (a*, b*) distance
    max_shift: float = Field(0.15, gt=0.0, le=0.5)  # of the thumbnail side

    # Two catalogue products are never merged, however alike their photos: the catalogue
    # says they are different products, and dropping one would remove it from the
    # search gallery. Their look-alike pairs are reported, not clustered.
    distinct_products: bool = True
    # Clusters never chain (dataset.dedup.clusters): a photo joins the photo a cluster
    # keeps and, with ``every_member``, only if confirmed against every member too.
    cluster_link: Literal["every_member", "keeper"] = "every_member"
    # The keeper: the first criterion decides, later ones break ties.
    keep_rule: list[KeepCriterion] = Field(default_factory=_default_keep_rule)

    @field_validator("hashes")
    @classmethod
    def _known_hashes(cls, value: list[str]) -> list[str]:
        for name in value:
            base = name.removesuffix("_object")
            if base not in HASH_KINDS:
                known = ", ".join(f"{k}, {k}_object" for k in HASH_KINDS)
                raise ValueError(f"unknown hash {name!r}; expected one of {known}")
        return list(dict.fromkeys(value))

"""The validated settings of the dedup stage (a ``dedup:`` section of ``dataset.yaml``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from dataset.images.safe import DEFAULT_MAX_PIXELS

HASH_KINDS = ("phash", "dhash", "whash", "ahash", "fmhash")
KeepCriterion = Literal["prefer_catalogue", "larger_image", "older_listing", "image_path"]


def _default_keep_rule() -> list[KeepCriterion]:
    return ["prefer_catalogue", "larger_image", "older_listing"]


class DedupConfig(BaseModel):
    """Stage 1 (hash candidates), stage 2 (verification), clusters and the keep rule.

    Example (YAML)::

        dedup:
          hashes: [phash, phash_object, fmhash]
          radius: 10
          kind_radius: {fmhash: 12}
          max_candidates: 2
          verify: true
          keep_rule: [prefer_catalogue, larger_image, older_listing]
    """

    model_config = ConfigDict(extra="forbid")

    # Stage 1. Each hash is searched separately and the candidates are united.
    # ``<kind>_object`` hashes the object cropped from a plain backdrop: it survives
    # shifts and small crops that move plain pHash by 20+ bits (see docs/dedup.md).
    # ``fmhash`` (Fourier magnitude) ignores where the content sits: it finds copies
    # shifted on a busy backdrop, where neither pHash survives.
    hashes: list[str] = Field(
        default_factory=lambda: ["phash", "phash_object", "fmhash"], min_length=1
    )
    radius: int = Field(10, ge=0, le=24)  # Hamming radius (of 64 bits) for candidates
    # The radius of a kind where it differs from ``radius``. fmhash at 12: 7 more of the
    # tuning set's 999 copies proposed for 6.5% more candidates, its clusters' recall
    # 0.967 to 0.975 with no false pair (docs/dedup.md, Candidates).
    kind_radius: dict[str, int] = Field(default_factory=lambda: {"fmhash": 12})
    max_pixels: int = Field(DEFAULT_MAX_PIXELS, gt=0)  # larger: a decompression bomb
    workers: int | None = Field(None, ge=1)  # processes (all stages); None: every core
    # Candidates kept per image and hash kind, nearest hashes first and, at one distance,
    # closest colours first, among the pairs the chroma gate (max_chroma) passes:
    # look-alikes of one cut and colour crowd the radius as the set grows, a copy is
    # nearly always among the closest. 2: measured on the tuning set (docs/dedup.md,
    # Candidates).
    max_candidates: int = Field(2, ge=1)
    # Candidates kept per image over all kinds together: those nearest in colour (the
    # chroma distance of the gate) and the image's nearest of each kind (a pair kept by
    # either image stays); None: no such cap. Each kind brings its own look-alikes, so the
    # united pairs per image grow with the set (2.0 at 10,798 look-alike images, 2.69 at
    # 98,999). 3 (chosen on the tuning set, by colour alone): 22% fewer pairs verified at
    # 98,999 images, better clusters there, the same on both evaluation sets
    # (docs/dedup.md, Candidates).
    max_united_candidates: int | None = Field(3, ge=1)
    hash_cache_key: str | None = None  # None: <out>/hashes.parquet

    # Stage 2 (dataset.dedup.verify, dataset.dedup.geometry). A pair is confirmed when
    # the colours agree and either local features (geometric) or aligned thumbnails agree.
    # Thresholds: calibrated by dataset.dedup.calibrate on the independent look-alike set
    # (dataset.synthetic.lookalikes), held out on the demo-family set: docs/dedup.md.
    verify: bool = True
    thumb_size: int = Field(96, ge=16, le=256)
    feature_side: int = Field(160, ge=64, le=1024)  # longer side of the decode: hashes, ORB
    max_features: int = Field(200, ge=16, le=5000)  # ORB keypoints per image
    min_inliers: int = Field(12, ge=4)  # a similarity fit this many matches agree on
    min_inlier_ratio: float = Field(0.15, ge=0.0, le=1.0)
    min_warped_edge_ncc: float = Field(-1.0, ge=-1.0, le=1.0)
    max_unmatched_edges: float = Field(0.002315, ge=0.0, le=1.0)
    # Up to max_overlaid_edges where at most max_uncovered_edges lie away from an overlay
    # of the other photo (a watermark); max_overlaid_edges <= max_unmatched_edges: off.
    max_uncovered_edges: float = Field(0.0, ge=0.0, le=1.0)
    max_overlaid_edges: float = Field(0.017501, ge=0.0, le=1.0)
    # A region of another colour inside outlines both photos share (a button, a logo
    # recoloured), as a share of the overlap; 0.0: none at all; 1.0: off (docs/dedup.md).
    max_recoloured: float = Field(0.0, ge=0.0, le=1.0)
    min_ncc: float = Field(0.90, ge=-1.0, le=1.0)
    min_edge_ncc: float = Field(0.983838, ge=-1.0, le=1.01)  # 1.01: thumbnails alone never confirm
    max_chroma: float = Field(15.0, ge=0.0)  # mean CIELAB (a*, b*) distance
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
            _check_kind(name)
        return list(dict.fromkeys(value))

    @field_validator("kind_radius")
    @classmethod
    def _radii_in_range(cls, value: dict[str, int]) -> dict[str, int]:
        for kind, radius in value.items():
            _check_kind(kind)
            if not 0 <= radius <= 24:
                raise ValueError(f"radius of {kind!r} must lie in 0..24; received {radius}")
        return value

    def radius_of(self, kind: str) -> int:
        """The Hamming radius of candidates in hash ``kind``."""
        return self.kind_radius.get(kind, self.radius)


def _check_kind(name: str) -> None:
    if name.removesuffix("_object") not in HASH_KINDS:
        known = ", ".join(f"{k}, {k}_object" for k in HASH_KINDS)
        raise ValueError(f"unknown hash {name!r}; expected one of {known}")

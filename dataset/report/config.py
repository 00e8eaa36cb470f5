"""The report stage's configuration (``report:`` in ``dataset.yaml``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class OutlierConfig(BaseModel):
    """When an image is worth a reviewer's look (measured by :mod:`dataset.report.outliers`)."""

    model_config = ConfigDict(extra="forbid")

    min_side: int = Field(default=48, ge=1, description="tiny: shorter side below this, pixels")
    max_blur: float = Field(
        default=10.0, ge=0, description="blurred: variance of the Laplacian (at 256 px) below this"
    )
    max_blank: float = Field(
        default=8.0, ge=0, description="nearly blank: grey-level std below this"
    )
    max_aspect: float = Field(
        default=2.5, ge=1, description="extreme aspect: long / short side above"
    )
    measure_side: int = Field(
        default=256, ge=32, le=2048, description="side images are measured at"
    )
    workers: int = Field(default=4, ge=1)


class ReportConfig(BaseModel):
    """Sizes of the page: each gallery embeds at most its limit, sorted for review, and
    says 'showing N of M'; thumbnails are small JPEGs under one byte budget."""

    model_config = ConfigDict(extra="forbid")

    thumbnail_size: int = Field(96, ge=16, le=512)
    thumbnail_quality: int = Field(70, ge=20, le=95)
    thumbnail_budget_kb: int = Field(
        1500, ge=10, description="all thumbnails of the page together; beyond it, a grey tile"
    )
    samples_per_class: int = Field(6, ge=0)
    sample_task: str = "type"
    raw_columns: dict[str, str] = Field(
        default_factory=lambda: {
            "colour": "raw_colors",
            "material": "raw_materials",
            "gender": "raw_gender",
            "type": "category",
        },
        description="task -> manifest column holding the raw label it was mapped from",
    )
    duplicate_examples: int = Field(24, ge=0, description="clusters shown")
    near_miss_examples: int = Field(16, ge=0, description="unmerged candidate pairs shown")
    segmentation_examples: int = Field(
        6, ge=0, description="shown per decision (segmented, each fallback reason) and domain"
    )
    outlier_examples: int = Field(24, ge=0)
    bad_rows: int = Field(500, ge=0, description="bad inputs listed")
    outliers: OutlierConfig = OutlierConfig()
    seed: int = 0

"""The training configuration: one validated object, from YAML, overridden by flags.

Every option of ``s2s-train fit`` lives in :class:`TrainConfig`. A YAML file (the
``--config`` of the k8s manifests) sets any subset; command-line flags override it; the
resolved config (every default filled in) is written next to the run as
``config.yaml``, so a run can be repeated exactly. Unknown keys are errors naming the
file, the key and the value received.

>>> cfg = parse_config({"backbone": "tiny", "epochs": 3}, "inline.yaml")
>>> cfg.backbone, cfg.epochs, cfg.learning_rate
('tiny', 3, 0.0001)
>>> cfg.model_copy(update={"epochs": 5}).epochs
5
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from dataset.core.errors import UserError
from dataset.core.yamlio import load_yaml_file, pydantic_error

# Options that only say where files go or how fast they move: a resumed run may change them.
PLACEMENT_KEYS = frozenset({"cache_dir", "work_dir", "download_workers", "tensorboard"})


class AugmentConfig(BaseModel):
    """Training-only augmentation; each transform has its own probability (SEED-NOTES)."""

    model_config = ConfigDict(extra="forbid")

    rotation_probability: float = Field(0.35, ge=0, le=1)
    rotation_degrees: float = Field(20.0, ge=0, le=180)
    translation_probability: float = Field(0.35, ge=0, le=1)
    translation_fraction: float = Field(0.1, ge=0, le=0.5)  # of the width, horizontal only
    flip_probability: float = Field(0.5, ge=0, le=1)
    jpeg_probability: float = Field(0.3, ge=0, le=1)
    jpeg_quality: tuple[int, int] = (40, 90)  # mild: shoppers' photos are often poor
    # What sets a shopper's cut-out apart from a studio one, imitated on any image (all off
    # by default): the garment smaller and anywhere in the frame (the localiser's box is
    # loose), a white balance off per channel, a soft focus.
    scale_probability: float = Field(0.0, ge=0, le=1)
    scale_range: tuple[float, float] = (0.6, 1.0)  # the garment's side after, of the frame's
    cast_probability: float = Field(0.0, ge=0, le=1)
    cast_gain: float = Field(0.14, ge=0, lt=1)  # each channel times 1 +- up to this
    blur_probability: float = Field(0.0, ge=0, le=1)
    blur_sigma: float = Field(1.0, gt=0, le=4)  # largest Gaussian sigma, in pixels at 128 px
    # What the segment stage leaves of a cluttered background: a block of one colour
    # painted on the white around the garment, behind it (off by default).
    leftover_probability: float = Field(0.0, ge=0, le=1)
    leftover_size: tuple[float, float] = (0.15, 0.45)  # the block's sides, of the frame's

    @model_validator(mode="after")
    def _ranges(self) -> AugmentConfig:
        low, high = self.jpeg_quality
        if not 1 <= low < high <= 100:
            raise ValueError("jpeg_quality must be [low, high] with 1 <= low < high <= 100")
        smallest, largest = self.scale_range
        if not 0 < smallest <= largest <= 1:
            raise ValueError("scale_range must be [low, high] with 0 < low <= high <= 1")
        smallest, largest = self.leftover_size
        if not 0 < smallest <= largest <= 1:
            raise ValueError("leftover_size must be [low, high] with 0 < low <= high <= 1")
        return self


class RetrievalConfig(BaseModel):
    """The street-to-shop embedding head, trained on pairs (training/pair_loss.py).

    Batches are P x K: P groups (a user-shop pair, or the views of one product) of
    ``views_per_group`` images each, so every image has a positive in its batch and the
    other groups are its negatives.
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    dim: int = Field(128, ge=2, le=4096)  # the L2-normalised embedding's size
    temperature: float = Field(0.1, gt=0, le=1)  # of the softmax over in-batch similarities
    # Beside the attribute heads (weight 1 each). On the demo, 1.0 halved how fast the
    # type head learnt (the backbone served the pairs first); 0.1 kept it on course.
    loss_weight: float = Field(0.1, gt=0)
    views_per_group: int = Field(2, ge=2, le=16)  # K of the P x K batches
    # Hard negatives: each group's K images are batched beside another group's whose first
    # labels of these tasks are the same (e.g. [type, colour]: the look-alikes a search
    # must tell apart); tasks the encoder does not train are left out. Off by default: on
    # the demo world [type, colour] lowered type accuracy, colour macro-F1 and top-10.
    similar_tasks: list[str] = Field(default_factory=list)


class TrainConfig(BaseModel):
    """Every option of ``s2s-train fit`` (the flags override these)."""

    model_config = ConfigDict(extra="forbid")

    # Model
    backbone: str = "resnet50"  # a name in training.backbone.BACKBONES
    weights: str = "imagenet"  # imagenet | none | a local .h5/.keras/.weights.h5 file
    image_size: int | None = Field(None, ge=16, le=1024)  # default: the shards' size
    tasks: list[str] | None = None  # default: every task of the dataset's index.json
    separate: bool = False  # one backbone per task, as the retailer trained them
    embedding_dim: int = Field(1000, ge=1)
    dropout: float = Field(0.2, ge=0, lt=1)
    label_smoothing: float = Field(0.0, ge=0, lt=1)  # of the single-label heads' targets
    # Heads (tasks, or "retrieval") that also read the image's colour statistics
    # (training/colour_statistics.py); heads the encoder does not have are left out.
    colour_statistics: list[str] = Field(default_factory=list)
    # Schedule
    epochs: int = Field(20, ge=1)
    freeze_epochs: int = Field(2, ge=0)  # backbone frozen (BatchNorm in inference mode)
    batch_size: int = Field(64, ge=1)  # global: split across replicas and workers
    steps_per_epoch: int | None = Field(None, ge=1)  # default: one pass over the repeats
    learning_rate: float = Field(1e-4, gt=0)
    final_learning_rate: float | None = Field(None, gt=0)  # default: learning_rate / 1000
    schedule: Literal["cosine", "exponential", "constant"] = "cosine"
    warmup_epochs: float = Field(0.0, ge=0)  # linear rise to learning_rate, then the schedule
    weight_decay: float = Field(0.0, ge=0)  # above 0: AdamW, decay times the learning rate
    clipnorm: float | None = Field(1.0, gt=0)
    monitor: str = "val_loss"  # best checkpoint; any logged metric (min for *loss)
    seed: int = 0
    # The same seed gives the same run on the same machine: tf.data keeps its order and
    # TensorFlow's ops run deterministically (for the rest of the process; slower input).
    deterministic: bool = False
    # Data
    shuffle_buffer: int = Field(2048, ge=1)
    max_bad_fraction: float = Field(0.01, ge=0, le=1)  # corrupt records/images tolerated
    allow_missing_classes: bool = False  # a class with no training image is an error
    download_workers: int = Field(8, ge=1)
    # auto: tf.data where TensorFlow is importable (either backend), else pure Python
    input_pipeline: Literal["auto", "tf_data", "python"] = "auto"
    augment: AugmentConfig = Field(default_factory=lambda: AugmentConfig.model_validate({}))
    retrieval: RetrievalConfig = Field(default_factory=lambda: RetrievalConfig.model_validate({}))
    # Runtime
    strategy: Literal["auto", "default", "mirrored", "multi_worker"] = "auto"
    # auto: on with a GPU, bfloat16 at compute capability >= 8.0, else float16
    mixed_precision: Literal["auto", "on", "off"] = "auto"
    xla: Literal["auto", "on", "off"] = "auto"  # auto: on GPU, single worker
    cache_dir: str | None = None  # staged shards (default: a temporary folder)
    work_dir: str | None = None  # local run folder before upload (default: --out if local)
    tensorboard: bool = True  # skipped with a log line when tensorboard is not installed

    @model_validator(mode="after")
    def _consistent(self) -> TrainConfig:
        # Without pretrained weights there is nothing to freeze: the trainer runs no
        # frozen phase, so the default freeze_epochs must not refuse a short run.
        if self.weights != "none" and self.freeze_epochs > self.epochs:
            raise ValueError(
                f"freeze_epochs ({self.freeze_epochs}) is more than epochs ({self.epochs})"
            )
        group = self.retrieval.views_per_group
        if self.retrieval.enabled and self.batch_size % group:
            raise ValueError(
                f"batch_size ({self.batch_size}) must be a multiple of "
                f"retrieval.views_per_group ({group})"
            )
        if self.warmup_epochs >= self.epochs:
            raise ValueError(
                f"warmup_epochs ({self.warmup_epochs}) must be fewer than epochs ({self.epochs})"
            )
        if self.final_learning_rate is not None and self.final_learning_rate > self.learning_rate:
            raise ValueError("final_learning_rate must not exceed learning_rate")
        return self

    @property
    def final_lr(self) -> float:
        return self.final_learning_rate or self.learning_rate / 1000

    def resolved(self) -> dict[str, Any]:
        """Every option with its value (written as the run's ``config.yaml``)."""
        return self.model_dump(mode="json")

    def trained_with(self) -> dict[str, Any]:
        """The options that decide what a run learns (all but where files go)."""
        resolved = self.resolved()
        return {key: value for key, value in resolved.items() if key not in PLACEMENT_KEYS}


def parse_config(raw: Any, source: str) -> TrainConfig:
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise UserError(f"{source}: expected a mapping at the top. Received: {raw!r}")
    try:
        return TrainConfig.model_validate(raw)
    except ValidationError as exc:
        raise pydantic_error(source, exc, raw) from None


def load_config(path: str | Path | None, overrides: Mapping[str, Any] | None = None) -> TrainConfig:
    """The config of ``path`` (``None``: defaults) with ``overrides`` (flags) applied.

    Overrides whose value is ``None`` (a flag not given) leave the file's value alone; a
    mapping (``{"retrieval": {"enabled": True}}``) updates the file's block key by key.
    """
    raw: dict[str, Any] = {}
    source = "<flags>"
    if path is not None:
        source = str(path)
        loaded = load_yaml_file(path)
        if loaded is not None and not isinstance(loaded, Mapping):
            raise UserError(f"{source}: expected a mapping at the top. Received: {loaded!r}")
        raw = loaded if isinstance(loaded, dict) else {}  # a LineDict: errors name the line
    for key, value in (overrides or {}).items():
        if isinstance(value, Mapping) and isinstance(raw.get(key), Mapping):
            raw[key] = {**raw[key], **value}
        elif value is not None:
            raw[key] = value
    return parse_config(raw, source)

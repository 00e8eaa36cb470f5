"""The validated settings of the segmentation stage (a ``segment:`` section of ``dataset.yaml``)."""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel, ConfigDict, Field

from dataset.images.safe import DEFAULT_MAX_PIXELS


class SegmentConfig(BaseModel):
    """Box, GrabCut and quality-check parameters.

    Example (YAML)::

        segment:
          localiser: models/localiser/demo/localiser.keras
          margin: 0.08
          localiser_margin: 0.15
          iterations: 3
          min_box_fill: 0.25
    """

    model_config = ConfigDict(extra="forbid")

    bbox_column: str = "bbox"  # manifest column [x0, y0, x1, y1] in pixels, when present
    # Store key of the garment localiser (``s2s-train fit-localiser``'s localiser.keras):
    # its box is the one tried first on photos without a plain backdrop. None: no localiser.
    localiser: str | None = None
    # A localiser box and a backdrop box this close (IoU) mark a studio shot: backdrop first.
    backdrop_agreement: float = Field(0.3, ge=0.0, le=1.0)
    # Localiser cells at least this likely to be garment start GrabCut as probable garment.
    prior_threshold: float = Field(0.5, gt=0.0, lt=1.0)
    # Inside the localiser's box, cells less likely than this are certain background, so
    # clutter the localiser rejects cannot join the cut (0: none certain).
    prior_background: float = Field(0.1, ge=0.0, lt=1.0)
    # The localiser's cells seed GrabCut in every box, the backdrop's too (False: in its
    # own box only): the backdrop between sleeves and body, shadows and wall corners
    # start as background.
    prior_in_every_box: bool = True
    # A backdrop-box cut smaller than this share of the localiser's mask is cut again from
    # the whole box, unseeded (a light garment on a light backdrop that the localiser
    # barely sees); the second cut is kept if it passes the checks (0: never).
    recut_below: float = Field(0.7, ge=0.0, le=1.0)
    # Every cut must overlap the localiser's mask this much (IoU); a cut in the localiser's
    # box must cover this share of the image (instead of min_box_fill: a thin or diagonal
    # garment fills little of its box). Tuned on the demo generator's photos.
    min_localiser_agreement: float = Field(0.3, ge=0.0, le=1.0)
    min_object_fill: float = Field(0.01, ge=0.0, le=1.0)
    margin: float = Field(0.08, ge=0.0, le=0.5)  # box enlarged by this fraction of its size
    # The localiser's box, coarser (1/4-scale cells, a sleeve may fall outside), more.
    localiser_margin: float = Field(0.15, ge=0.0, le=0.5)
    default_box: float = Field(0.8, gt=0.1, le=1.0)  # centred box side (fraction) otherwise
    work_size: int = Field(160, ge=48, le=1024)  # GrabCut runs on this longest side
    iterations: int = Field(3, ge=1, le=20)
    # Quality check: the mask must fill this much of the box and of the image...
    min_box_fill: float = Field(0.25, ge=0.0, le=1.0)
    max_image_fill: float = Field(0.95, gt=0.0, le=1.0)
    # ...and its centre of mass lie this close to the box centre (fraction of box size).
    max_centre_offset: float = Field(0.25, gt=0.0, le=1.0)
    jpeg_quality: int = Field(92, ge=50, le=100)
    max_pixels: int = Field(DEFAULT_MAX_PIXELS, gt=0)
    workers: int | None = Field(None, ge=1)  # processes; None: every core
    cache_key: str | None = None  # None: <out>/segments.parquet

    def fingerprint(self) -> str:
        """Hash of the parameters that change the output: part of each cached image's key."""
        fields = self.model_dump(exclude={"workers", "cache_key", "bbox_column"})
        return hashlib.sha1(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:10]

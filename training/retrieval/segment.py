"""Segmentation of a query photo, the same cut the dataset's segment stage gives the gallery.

Queries and catalogue images go through one function (``dataset.segmentation.cut``):
the garment localiser's box and mask when one is given (a shopper's photo), the
backdrop box (a studio shot, and the fallback) or a centred default, GrabCut inside it,
the quality check. A cut the check rejects leaves the photo whole, as the dataset stage
does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from dataset.segmentation.config import SegmentConfig
from dataset.segmentation.cut import on_white, segment_array
from dataset.segmentation.localiser import Localiser

logger = logging.getLogger(__name__)


@dataclass
class QueryCut:
    """The query with its background painted white (the photo itself when rejected)."""

    image: np.ndarray
    kept: float  # fraction of the pixels kept (1.0: rejected, the whole photo)
    box_source: str  # where GrabCut's box came from: localiser, backdrop, default...
    problem: str | None  # why the cut was rejected (None: it was not)

    def note(self) -> str:
        if self.problem is not None:
            return f"segmentation rejected ({self.box_source} box: {self.problem})"
        return f"segmented ({self.box_source} box), {100 * self.kept:.0f}% kept"


def segment_garment(
    image: np.ndarray, config: SegmentConfig | None = None, localiser: Localiser | None = None
) -> QueryCut:
    """Cut the garment out of ``image`` (RGB), with ``localiser``'s box first if given."""
    localised, prior = localiser.locate([image])[0] if localiser is not None else (None, None)
    mask, _box, source, problem = segment_array(
        image, None, config or SegmentConfig.model_validate({}), localised, prior
    )
    if problem is not None:
        logger.warning("query segmentation rejected (%s): using the whole photo", problem)
        return QueryCut(image, 1.0, source, problem)
    return QueryCut(on_white(image, mask), float(mask.mean()), source, None)

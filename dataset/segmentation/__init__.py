"""Garment segmentation: a box, GrabCut inside it, a quality check, a cut-out on white.

Entry point for ``s2s-dataset build``: :func:`segment_images` with a :class:`SegmentConfig`.
"""

from dataset.segmentation.config import SegmentConfig
from dataset.segmentation.pipeline import segment_images

__all__ = ["SegmentConfig", "segment_images"]

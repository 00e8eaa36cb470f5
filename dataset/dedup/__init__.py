"""Near-duplicate removal: hash candidates, verify them, cluster without chaining, keep one.

Entry point for ``s2s-dataset build``: :func:`find_duplicates` with a :class:`DedupConfig`.
"""

from dataset.dedup.config import DedupConfig
from dataset.dedup.pipeline import find_duplicates

__all__ = ["DedupConfig", "find_duplicates"]

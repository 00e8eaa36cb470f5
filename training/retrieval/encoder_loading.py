"""Load an exported encoder: the search side of ``training/encoder_io.py``.

The training part owns the format and the loader (which registers the custom
preprocessing layer the exported models hold); search imports them from here.
"""

from __future__ import annotations

from training.encoder_io import Encoder, load_encoder, read_encoder_meta

__all__ = ["Encoder", "load_encoder", "read_encoder_meta"]

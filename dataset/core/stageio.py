"""Inputs of the dataset stage commands: a manifest named by a store key or a URI."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

from dataset.core.errors import UserError
from dataset.core.store import Store, open_store

if TYPE_CHECKING:
    import pandas as pd


def read_manifest(store: Store, key_or_uri: str) -> pd.DataFrame:
    """The parquet at ``key_or_uri``: a key of ``store`` first, else a path or ``s3://`` URI."""
    import pandas as pd

    if key_or_uri.startswith("s3://"):
        folder, _, name = key_or_uri.rpartition("/")
        data = open_store(folder).read_bytes(name)
    elif not key_or_uri.startswith("/") and store.exists(key_or_uri):
        data = store.read_bytes(key_or_uri)
    elif Path(key_or_uri).is_file():
        data = Path(key_or_uri).read_bytes()
    else:
        raise UserError(f"{key_or_uri}: no such manifest (neither a key of {store.uri} nor a file)")
    try:
        frame = pd.read_parquet(io.BytesIO(data))
    except Exception as exc:
        raise UserError(f"{key_or_uri}: not a parquet manifest ({exc})") from None
    if "image_path" not in frame.columns:
        raise UserError(f"{key_or_uri}: manifest has no 'image_path' column")
    return frame

"""Files given on the command line as one URI (``./x/export.csv``, ``s3://bucket/x/export.csv``)."""

from __future__ import annotations

import io

import pandas as pd

from dataset.core.errors import UserError
from dataset.core.store import Store, open_store


def split_uri(uri: str) -> tuple[Store, str]:
    """The store holding ``uri`` and the file's key in it."""
    text = str(uri).rstrip("/")
    head, _, name = text.rpartition("/")
    if not name:
        raise UserError(f"{uri!r} names a folder, not a file")
    if text.startswith("s3://") and head.count("/") < 2:
        raise UserError(f"{uri!r}: give s3://bucket/key, with a key")
    return open_store(head or "."), name


def read_table(uri: str, what: str) -> pd.DataFrame:
    """A CSV (every cell read as text) or Parquet file at ``uri``; ``what`` names it in errors."""
    store, key = split_uri(uri)
    data = store.read_bytes(key)
    try:
        if key.endswith(".parquet"):
            return pd.read_parquet(io.BytesIO(data))
        if key.endswith(".csv"):
            return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    except Exception as exc:  # pandas and pyarrow raise many types for a corrupt file
        raise UserError(f"{store.uri_for(key)}: {what} cannot be read ({exc})") from None
    raise UserError(f"{store.uri_for(key)}: {what} must be a .csv or .parquet file")

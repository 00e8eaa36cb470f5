"""Single files named by a URI (a local path or ``s3://bucket/key``), through the store."""

from __future__ import annotations

from dataset.core.store import Store, open_store


def split_uri(uri: str) -> tuple[Store, str]:
    """The store holding ``uri``'s folder and the file's key in it."""
    parent, _, name = uri.rstrip("/").rpartition("/")
    if not name:
        raise ValueError(f"not a file URI: {uri!r}")
    return open_store(parent or "."), name


def read_uri(uri: str) -> bytes:
    store, key = split_uri(uri)
    return store.read_bytes(key)


def write_uri(uri: str, data: bytes) -> None:
    store, key = split_uri(uri)
    store.write_bytes(key, data)

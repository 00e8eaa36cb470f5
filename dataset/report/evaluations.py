"""The evaluation pages of this dataset version found in the store, for the report to link.

``s2s-train evaluate`` writes ``models/<name>/<run>/eval/<split>/index.html`` beside its
``metrics.json`` (``dataset``: the version it evaluated); ``s2s-train eval-retrieval``
writes ``index.html`` beside ``report.json`` (``source``: the manifest it read), in the
store layout under ``eval/`` or a run folder. A page is this version's when the last
segments of that URI are the version's folder (``datasets/<name>/<version>``). The
report stage declares the records as inputs, so a new evaluation reruns the report.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from dataset.core.store import Store
from dataset.report.figures import short_name

ROOTS = ("models/", "eval/")  # where the trainer's commands write, in the store layout
RECORDS = {"metrics.json": ("dataset", "model evaluation"), "report.json": ("source", "retrieval")}


@dataclass(frozen=True)
class EvaluationPage:
    key: str  # store key of index.html
    kind: str  # "model evaluation" or "retrieval"


def _records(store: Store) -> list[str]:
    keys = [key for root in ROOTS for key in store.list(root)]
    found = set(keys)
    return sorted(
        key
        for key in keys
        if posixpath.basename(key) in RECORDS
        and posixpath.join(posixpath.dirname(key), "index.html") in found
    )


def _matching(store: Store, prefix: str) -> list[tuple[str, str]]:
    """(record key, kind) of every evaluation page whose record names this version."""
    wanted = prefix.strip("/")
    found = []
    for key in _records(store):
        field, kind = RECORDS[posixpath.basename(key)]
        try:
            uri = str(store.read_json(key).get(field, ""))
        except (ValueError, AttributeError):
            continue  # not a record of ours: nothing to link
        if short_name(uri, parts=wanted.count("/") + 1) == wanted:
            found.append((key, kind))
    return found


def evaluation_records(store: Store, prefix: str) -> list[str]:
    """Keys of the records (metrics.json, report.json) of this version's evaluation pages."""
    return [key for key, _ in _matching(store, prefix)]


def evaluation_pages(store: Store, prefix: str) -> list[EvaluationPage]:
    """The evaluation pages of the dataset version at ``prefix``."""
    return [
        EvaluationPage(posixpath.join(posixpath.dirname(key), "index.html"), kind)
        for key, kind in _matching(store, prefix)
    ]

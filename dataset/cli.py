"""``s2s-dataset``: one sub-command per module in ``dataset/commands/``."""

from __future__ import annotations

from collections.abc import Sequence

from dataset.core import clikit

DESCRIPTION = "Map, merge, deduplicate, split and export training datasets."


def main(argv: Sequence[str] | None = None) -> int:
    return clikit.main("s2s-dataset", DESCRIPTION, "dataset.commands", argv)

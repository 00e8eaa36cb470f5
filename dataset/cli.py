"""``s2s-dataset``: one sub-command per module in ``dataset/commands/``."""

from __future__ import annotations

from collections.abc import Sequence

from dataset.core import clikit
from dataset.core.native_logs import quiet_native_logs

DESCRIPTION = "Map, merge, deduplicate, split and export training datasets."


def main(argv: Sequence[str] | None = None) -> int:
    with quiet_native_logs():  # before any command imports TensorFlow
        return clikit.main("s2s-dataset", DESCRIPTION, "dataset.commands", argv)

"""``s2s-train``: one sub-command per module in ``training/commands/``."""

from __future__ import annotations

from collections.abc import Sequence

from dataset.core import clikit
from dataset.core.native_logs import quiet_native_logs

DESCRIPTION = "Train, evaluate, export and search with the attribute encoders."


def main(argv: Sequence[str] | None = None) -> int:
    with quiet_native_logs():  # before any command imports TensorFlow
        return clikit.main("s2s-train", DESCRIPTION, "training.commands", argv)

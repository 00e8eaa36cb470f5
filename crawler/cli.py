"""``s2s-crawl``: one sub-command per module in ``crawler/commands/``."""

from __future__ import annotations

from collections.abc import Sequence

from dataset.core import clikit

DESCRIPTION = "Collect marketplace listings (photos + raw labels) into a store."


def main(argv: Sequence[str] | None = None) -> int:
    return clikit.main("s2s-crawl", DESCRIPTION, "crawler.commands", argv)

"""Checks of a crawl's inputs before any request: the User-Agent and the ``S2S_*`` settings."""

from __future__ import annotations

import re
from typing import Any

from dataset.core.errors import UserError

_CONTACT = re.compile(r"mailto:|https?://|@")


def check_user_agent(user_agent: str) -> str:
    """A polite User-Agent names a way to reach its operator (a URL or an e-mail)."""
    if not _CONTACT.search(user_agent):
        raise UserError(
            "the User-Agent must include a contact (a URL or e-mail), e.g. "
            f"'street2shop-crawler/0.1 (+mailto:you@example.com)'. Received: {user_agent!r}"
        )
    return user_agent


def check_settings(settings: Any) -> None:
    """An ``S2S_*`` setting the crawler does not define is a typo: say so."""
    from crawler import settings as defaults

    known = {name for name in vars(defaults) if name.startswith("S2S_")}
    unknown = sorted(
        name for name, _ in settings.items() if name.startswith("S2S_") and name not in known
    )
    if unknown:
        raise UserError(
            f"unknown crawler setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )

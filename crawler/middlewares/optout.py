"""Respect opt-outs from AI training: ``X-Robots-Tag: noai`` / ``noimageai``.

As img2dataset does, a page or photo whose answer carries one of ``S2S_OPTOUT_TAGS``
(for every robot, or for ours by name: ``street2shop: noai``) is dropped before any
callback sees it and counted (``optout/pages``, ``optout/images``). The request fails
with :class:`OptedOut`, so the spider and the photo pipeline can tell the ledger not to
come back for the item.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.exceptions import IgnoreRequest, NotConfigured

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response


class OptedOut(IgnoreRequest):
    """The site asked that this page or photo not be used for AI training."""


def optout_tags(header_values: list[bytes], bot_name: str) -> set[str]:
    """The directives of ``X-Robots-Tag`` values that apply to ``bot_name``.

    >>> sorted(optout_tags([b"noai, noimageai", b"otherbot: noindex"], "street2shop"))
    ['noai', 'noimageai']
    >>> optout_tags([b"street2shop: noai"], "street2shop")
    {'noai'}
    """
    tags: set[str] = set()
    for raw in header_values:
        text = raw.decode("latin-1").strip()
        agent, sep, rest = text.partition(":")
        # "bot: a, b" scopes the directives to one robot; "a, b" is for everyone.
        if sep and " " not in agent.strip() and "," not in agent:
            if agent.strip().lower() != bot_name.lower():
                continue
            text = rest
        tags.update(part.strip().lower() for part in text.split(",") if part.strip())
    return tags


class OptOutMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.tags = {tag.lower() for tag in crawler.settings.getlist("S2S_OPTOUT_TAGS")}
        if not self.tags:
            raise NotConfigured
        self.bot_name = crawler.settings.get("BOT_NAME", "street2shop")
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> OptOutMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        if request.meta.get("dont_obey_robotstxt"):  # robots.txt itself
            return response
        found = optout_tags(response.headers.getlist(b"X-Robots-Tag"), self.bot_name) & self.tags
        if found:
            kind = "images" if request.meta.get("s2s_photo") else "pages"
            self.stats.inc_value(f"optout/{kind}")
            raise OptedOut(f"X-Robots-Tag: {', '.join(sorted(found))} on {request.url}")
        return response

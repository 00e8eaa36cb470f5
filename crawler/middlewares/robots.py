"""robots.txt: a parser that remembers what it parsed, fetched once per host per process.

Scrapy's ``RobotsTxtMiddleware`` obeys Allow/Disallow but ignores ``Crawl-delay`` and
throws the text away. With ``ROBOTSTXT_PARSER`` pointing here, the parser handed to the
``robots_parsed`` signal also carries the text and its digest: the budget middleware
reads the delay from it and every record cites the rules in force.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.robotstxt import ProtegoRobotParser, decode_robotstxt
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Request
    from scrapy.robotstxt import RobotParser

MAX_TEXT_IN_RECORD = 2048  # longer robots.txt files are cited by digest (full text in runs/)


class RecordingRobotParser(ProtegoRobotParser):
    def __init__(self, robotstxt_body: bytes, spider: Spider | None):
        super().__init__(robotstxt_body, spider)
        self.text = decode_robotstxt(robotstxt_body, spider)
        self.sha1 = hashlib.sha1(robotstxt_body).hexdigest()
        self.fetched_at = datetime.now(timezone.utc).isoformat(timespec="seconds")

    @classmethod
    def from_crawler(cls, crawler: Crawler, robotstxt_body: bytes) -> RecordingRobotParser:
        return cls(robotstxt_body, None if not crawler else crawler.spider)

    def provenance(self, url: str, user_agent: str) -> dict[str, Any]:
        """What a record cites: where the rules came from, when, and the rules themselves."""
        cited: dict[str, Any] = {
            "url": url,
            "sha1": self.sha1,
            "fetched_at": self.fetched_at,
            "crawl_delay": self.crawl_delay(user_agent),
        }
        if len(self.text) <= MAX_TEXT_IN_RECORD:
            cited["text"] = self.text
        return cited


# netloc -> parser (or the Deferred of its fetch), for every crawl of this process.
_PARSERS: dict[str, Any] = {}


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware with one cache per process, not per crawl.

    ``s2s-crawl run`` runs one crawl per category in one process: each fetched every
    host's robots.txt again. Here the first crawl to need a host fetches it and the
    others wait for that answer; each crawl still gets its ``robots_parsed`` signal
    (Crawl-delay for its budget, rules for its records' provenance).
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._parsers = _PARSERS
        self._announced: set[str] = set()

    async def robot_parser(self, request: Request) -> RobotParser | None:
        netloc = urlparse_cached(request).netloc
        if netloc not in self._parsers:
            self._announced.add(netloc)  # this crawl fetches it: Scrapy signals it
        parser = await super().robot_parser(request)
        # A Deferred hands its result to the first waiter only (later ones get None):
        # once fetched, the cache holds the parser itself.
        cached = self._parsers.get(netloc)
        if not isinstance(cached, Deferred):
            parser = cached
        if parser is not None and netloc not in self._announced:
            self._announced.add(netloc)
            await self.crawler.signals.send_catch_log_async(
                signal=signals.robots_parsed, robotparser=parser, request=request
            )
        return parser

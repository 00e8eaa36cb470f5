"""A robots.txt parser that remembers what it parsed, for provenance and Crawl-delay.

Scrapy's ``RobotsTxtMiddleware`` obeys Allow/Disallow but ignores ``Crawl-delay`` and
throws the text away. With ``ROBOTSTXT_PARSER`` pointing here, the parser handed to the
``robots_parsed`` signal also carries the text and its digest: the budget middleware
reads the delay from it and every record cites the rules in force.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from scrapy.robotstxt import ProtegoRobotParser, decode_robotstxt

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler

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

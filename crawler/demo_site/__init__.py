"""The bundled demo marketplace (``s2s-crawl demo-site``): a real HTTP server on loopback.

A French second-hand clothing marketplace rendered from :class:`dataset.synthetic.DemoUniverse`:
listing pages, item pages with JSON-LD and a details table, a JSON API, robots.txt, a
separate image host, a request budget (429 + Retry-After), injected faults and a JSONL
request log.
"""

from crawler.demo_site.app import DemoSite
from crawler.demo_site.config import Budget, DemoSiteConfig, FaultRates, load_config

__all__ = ["Budget", "DemoSite", "DemoSiteConfig", "FaultRates", "load_config"]

"""The bundled demo marketplace (``s2s-crawl demo-site``): everything is in its profile.

scrapy crawl demo -a category=robes                 # JSON API (crawler/sites/demo.yaml)
scrapy crawl demo -a category=robes -a mode=html    # listing + item pages
"""

from crawler.spiders.base import MarketplaceSpider


class DemoSpider(MarketplaceSpider):
    name = "demo"
    site = "demo"

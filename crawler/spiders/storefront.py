"""The demo storefront (``s2s-crawl demo-site --flavour storefront``): all in its profile.

scrapy crawl storefront -a category=dresses    # crawler/sites/storefront.yaml
"""

from crawler.spiders.base import MarketplaceSpider


class StorefrontSpider(MarketplaceSpider):
    name = "storefront"
    site = "storefront"

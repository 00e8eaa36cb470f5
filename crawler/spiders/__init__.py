"""Spiders, one small class per marketplace on top of :class:`~crawler.spiders.base.MarketplaceSpider`."""

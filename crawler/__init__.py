"""Polite Scrapy crawlers that collect marketplace listings into a store."""

__version__ = "0.1.0"

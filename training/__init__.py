"""Attribute encoders: training, evaluation, export and street-to-shop search."""

__version__ = "0.1.0"

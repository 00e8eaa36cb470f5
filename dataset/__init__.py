"""Dataset building: storage layer, taxonomy, label mapping, dedup, splits, shards."""

__version__ = "0.1.0"

"""The training split: leak-free train/val/test, rebalancing and the weighted-loss label weights."""

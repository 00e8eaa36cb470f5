"""Item pipelines: photos into the store (the records go out through the feed exports)."""

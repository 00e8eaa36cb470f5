"""The house catalogue: code tables, the merge with marketplace listings, the demo export."""

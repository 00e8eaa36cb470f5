"""The stage engine of ``s2s-dataset build``: registry, fingerprints, caching, run order."""

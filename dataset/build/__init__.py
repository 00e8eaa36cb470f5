"""``s2s-dataset build``: its config, the registered stages and the run of them all."""

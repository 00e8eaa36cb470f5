"""Make ``import tensorflow`` fail, as on a node without it (tests/test_training_jax.py).

Put this folder first on ``PYTHONPATH`` of a subprocess: Python imports
``sitecustomize`` at start-up, before any project code.
"""

import importlib.abc
import sys


class _NoTensorFlow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):  # type: ignore[no-untyped-def]
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)
        return None


sys.meta_path.insert(0, _NoTensorFlow())

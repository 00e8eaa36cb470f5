"""Which Keras backend runs ``s2s-train``: TensorFlow (default) or JAX.

Keras reads its backend once, when it is first imported, from ``KERAS_BACKEND``.
``s2s-train --backend jax COMMAND ...`` sets that variable before any command imports
Keras; without the flag ``KERAS_BACKEND`` decides, and without either TensorFlow runs
(``~/.keras/keras.json`` is not consulted: a run does not depend on a home folder).
Where TensorFlow is not installed the TensorFlow backend is a one-line error.
Keras files (``encoder.keras``, ``*.weights.h5``) do not depend on the backend, so an
encoder trained on one loads on the other.

What differs by backend (everything else is ``keras.ops`` and runs on both):
- distribution: ``tf.distribute`` strategies on TensorFlow, ``keras.distribution`` on
  JAX (training/runtime.py);
- the TensorFlow-only workarounds of :func:`training.model.training_view`;
- the input pipeline: ``tf.data`` wherever TensorFlow is importable (whatever the
  backend), else the pure-Python shard reader (training/pydata.py);
- ``export`` writes a TensorFlow SavedModel, so it runs on the TensorFlow backend.
"""

from __future__ import annotations

import importlib.util
import os
import sys

from dataset.core.errors import UserError

BACKENDS = ("tensorflow", "jax")
DEFAULT = "tensorflow"


def requested_backend() -> str:
    """The backend Keras will use (or uses): ``KERAS_BACKEND``, default TensorFlow."""
    name = os.environ.get("KERAS_BACKEND", "").strip() or DEFAULT
    if name not in BACKENDS:
        raise UserError(f"unsupported Keras backend; use one of {list(BACKENDS)}. "
                        f"Received: KERAS_BACKEND={name!r}")  # fmt: skip
    return name


def select_backend(name: str | None) -> str:
    """Make ``name`` Keras' backend (``None``: keep ``KERAS_BACKEND``); before Keras loads."""
    if name is not None:
        if name not in BACKENDS:
            raise UserError(f"unsupported backend; use one of {list(BACKENDS)}. "
                            f"Received: --backend {name}")  # fmt: skip
        loaded = sys.modules.get("keras")
        if loaded is not None and loaded.backend.backend() != name:
            raise UserError(
                f"Keras is already loaded with the {loaded.backend.backend()} backend; "
                f"select the backend before importing Keras. Received: --backend {name}"
            )
        os.environ["KERAS_BACKEND"] = name
    chosen = requested_backend()
    os.environ["KERAS_BACKEND"] = chosen
    if chosen == "tensorflow" and not _installed("tensorflow"):
        raise UserError(
            "TensorFlow is not installed here: choose the JAX backend "
            "(s2s-train --backend jax ... or KERAS_BACKEND=jax)"
        )
    return chosen


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:
        return False


def current_backend() -> str:
    """The backend of the loaded Keras."""
    import keras

    return str(keras.backend.backend())


def on_tensorflow() -> bool:
    return current_backend() == "tensorflow"

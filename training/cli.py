"""``s2s-train``: one sub-command per module in ``training/commands/``.

``--backend`` (before the command) is read here, before any command imports Keras.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from dataset.core import clikit
from dataset.core.errors import UserError
from dataset.core.native_logs import quiet_native_logs
from training.backend import BACKENDS, select_backend

DESCRIPTION = (
    "Train, evaluate, export and search with the attribute encoders.\n\n"
    f"--backend {{{','.join(BACKENDS)}}} (before COMMAND): the Keras backend; default: "
    "KERAS_BACKEND, else tensorflow."
)


def main(argv: Sequence[str] | None = None) -> int:
    pre = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    pre.add_argument("--backend")
    known, rest = pre.parse_known_args(list(sys.argv[1:] if argv is None else argv))
    try:
        select_backend(known.backend)
    except UserError as exc:
        print(f"s2s-train: error: {exc}", file=sys.stderr)
        return 2
    with quiet_native_logs():  # before any command imports TensorFlow
        return clikit.main("s2s-train", DESCRIPTION, "training.commands", rest)

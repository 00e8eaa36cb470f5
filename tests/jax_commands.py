"""Run several ``s2s-train`` commands in one process (one Keras and JAX start-up).

``python -m tests.jax_commands STEPS.json``: a list of ``[stdout file, argv]``; each
command's standard output goes to its file; the first non-zero exit code ends the run
with that code. Used by tests/test_training_jax.py in subprocesses.
"""

from __future__ import annotations

import io
import json
import sys
from contextlib import redirect_stdout
from pathlib import Path

from training.cli import main


def run(steps_file: str) -> int:
    for out, argv in json.loads(Path(steps_file).read_text()):
        buffer = io.StringIO()
        with redirect_stdout(buffer):
            code = main(argv)
        Path(out).write_text(buffer.getvalue())
        if code:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1]))

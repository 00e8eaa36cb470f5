"""Keep TensorFlow's native INFO chatter out of the commands' output.

TensorFlow's C++ libraries log through absl before anything initialises absl logging,
so ``TF_CPP_MIN_LOG_LEVEL`` does not reach every line: importing TensorFlow prints
``WARNING: All log messages before absl::InitializeLog() is called are written to
STDERR`` and ``I0000 ... port.cc:153] oneDNN custom operations are on ...`` (twice:
two libraries) whatever the level. Only a filter on the process's standard error can
drop them, so ``s2s-train`` and ``s2s-dataset`` (whose shard writer imports TensorFlow)
run their command with file descriptor 2 piped through a small child process
(``python -m dataset.core.native_logs``) that copies everything to the real standard
error except absl INFO lines and a few known harmless messages.

A child process rather than a thread: if the command dies hard (a segfault in native
code), the child still drains the pipe, so the last words of a crash are never lost;
it ignores SIGINT and SIGTERM (sent to the whole process group by Ctrl-C or a pod's
stop) and ends when the command's end of the pipe closes. The command waits for it at its
end, at most ``DRAIN_TIMEOUT_S`` (a process the command left running may hold the pipe:
warned, not waited for).
Warnings (``W``) and errors (``E``, ``F``) of TensorFlow pass, and so does everything
Python writes. ``TF_CPP_MIN_LOG_LEVEL`` defaults to 2 (TensorFlow's own warnings off);
a user's 1 brings its warnings back, and 0 (the user asked for TensorFlow's INFO lines)
switches the filter off.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from multiprocessing import resource_tracker

# absl's line prefix after the severity letter (I, W, E, F):
# <MMDD> <hh:mm:ss.micros> <thread> <file>:<line>]
ABSL_PREFIX = rb"\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w.\-/]+:\d+\] "
ABSL_INFO = re.compile(rb"^I" + ABSL_PREFIX)
HARMLESS = (
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    # Logged at ERROR level when a boolean op falls back to Eigen: a note, not a failure.
    b"oneDNN supports DT_BOOL only on platforms with AVX-512",
)
# Native lines also start in the middle of a progress bar's line (a bar ends in no
# newline): a piece starting with one of these is treated as the start of a line.
NATIVE_START = re.compile(rb"WARNING: All log messages before absl|[IWEF]" + ABSL_PREFIX)
PIECES = re.compile(rb"(?<=[\n\r])|(?=" + NATIVE_START.pattern + rb")")
LEVEL_KEY = "TF_CPP_MIN_LOG_LEVEL"
QUIET_LEVEL = "2"  # TensorFlow's own INFO and WARNING lines off; errors stay
DRAIN_TIMEOUT_S = 10.0  # how long the command waits at its end for the filter to finish


def is_noise(line: bytes) -> bool:
    """True for a line of native INFO chatter (``line`` without its end of line)."""
    return bool(ABSL_INFO.match(line)) or any(text in line for text in HARMLESS)


def _could_be_noise(start: bytes) -> bool:
    """Whether a line beginning with ``start`` may still turn out to be noise (so it is
    held until its end); anything else is copied at once (progress bars stay live)."""
    return start[:1] in (b"I", b"E") or b"WARNING: All log messages".startswith(start[:26])


def copy_filtered(source: int, sink: int) -> None:
    """Copy ``source`` to ``sink`` until end of file, dropping noise lines."""
    pending = b""  # start of a line that may be noise, held until its end
    passing = False  # the current line was judged not noise: copied as it comes
    while chunk := os.read(source, 65536):
        out = bytearray()
        for piece in PIECES.split(chunk):
            if not piece:
                continue
            if NATIVE_START.match(piece):
                out += pending  # an unfinished line before it: not noise
                pending, passing = b"", False
            ends = piece.endswith((b"\n", b"\r"))
            if passing:
                out += piece
            else:
                pending += piece
                if ends:
                    if not is_noise(pending.rstrip(b"\r\n")):
                        out += pending
                    pending = b""
                elif not _could_be_noise(pending):
                    out += pending
                    pending, passing = b"", True
            if ends:
                passing = False
        if out:
            os.write(sink, bytes(out))
    if pending and not is_noise(pending):
        os.write(sink, pending)


@contextlib.contextmanager
def quiet_native_logs() -> Iterator[None]:
    """Run the body with TensorFlow's native INFO lines filtered out of standard error."""
    os.environ.setdefault(LEVEL_KEY, QUIET_LEVEL)
    if os.environ[LEVEL_KEY] == "0":
        yield
        return
    try:
        saved = os.dup(2)
    except OSError:  # no standard error to filter
        yield
        return
    # multiprocessing's resource tracker (started by the first spawn pool) outlives the
    # command and would hold the pipe open, so the filter would only end at the timeout
    # below: started here, it keeps the real standard error.
    resource_tracker.ensure_running()
    read_end, write_end = os.pipe()
    child = subprocess.Popen(
        [sys.executable, "-m", "dataset.core.native_logs"], stdin=read_end, stdout=saved
    )
    os.close(read_end)
    sys.stderr.flush()
    os.dup2(write_end, 2)
    os.close(write_end)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)  # the pipe's last writer here closes: the child ends
        os.close(saved)
        try:
            child.wait(timeout=DRAIN_TIMEOUT_S)
        except subprocess.TimeoutExpired:  # a leftover grandchild holds the pipe: do not hang
            print(
                f"warning: a process the command started still holds standard error after "
                f"{DRAIN_TIMEOUT_S} s; its output may come after this command ends",
                file=sys.stderr,
            )


def _main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    copy_filtered(sys.stdin.fileno(), sys.stdout.fileno())


if __name__ == "__main__":
    _main()

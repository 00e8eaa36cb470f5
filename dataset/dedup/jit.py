"""numba for the dedup stage's compiled loops (:mod:`dataset.dedup.probe`,
:mod:`dataset.dedup.kernels`): one POPCNT intrinsic, compilation cached on disk.

Imported by the loops' modules when they run, not before (numba takes about 0.5 s to
import). Numba compiles each function once per machine and caches it: next to its
module, or under ``NUMBA_CACHE_DIR`` (else the user's cache folder) where the package is
read-only; with no writable folder at all it is compiled in each process, a few seconds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, cast

import numba
from numba import types
from numba.extending import intrinsic

logger = logging.getLogger(__name__)


def _popcount_signature(typingctx: Any, value: Any) -> Any:
    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.ctpop(args[0])  # one POPCNT instruction

    return types.int64(types.uint64), codegen


popcount = cast(Callable[[Any], int], intrinsic(_popcount_signature))


def compiled(*functions: Any) -> list[Any]:
    try:
        return [numba.njit(nogil=True, cache=True)(function) for function in functions]
    except RuntimeError as exc:  # no writable cache folder: compiled in each process
        logger.warning("dedup kernel compiled without a cache (a few seconds): %s", exc)
        return [numba.njit(nogil=True)(function) for function in functions]

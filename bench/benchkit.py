"""Shared header and table helpers of the dataset benchmarks (not a benchmark itself).

Each ``bench/*_bench.py`` prints one markdown section: a ``###`` title, the command, the
date, the machine, then tables with the baseline side by side.
"""

from __future__ import annotations

import datetime
import os
import platform
import resource
import shlex
import sys
from collections.abc import Sequence


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def ram_gib() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        return float("nan")


def header(title: str, note: str = "") -> None:
    """The section title, the exact command, the date and the machine."""
    command = "PYTHONPATH=. python " + " ".join(shlex.quote(a) for a in sys.argv)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"### {title}\n")
    print(f"- command: `{command}`")
    print(f"- date: {now}")
    print(
        f"- machine: {os.cpu_count()} cores ({cpu_model()}), {ram_gib():.0f} GiB RAM, "
        f"Python {platform.python_version()}; shared with other jobs, so rates are lower bounds"
    )
    if note:
        print(f"- {note}")
    print()


def table(columns: Sequence[str], rows: Sequence[Sequence[object]], align: str = "") -> None:
    """A markdown table; ``align`` holds one of ``l``/``r`` per column (default: l then r)."""
    align = align or "l" + "r" * (len(columns) - 1)
    print("| " + " | ".join(columns) + " |")
    print("|" + "|".join("---" if a == "l" else "---:" for a in align) + "|")
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")
    print()


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

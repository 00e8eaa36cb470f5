"""The system's headless Chromium for browser tests (Debian's ``chromium`` package).

Installed with apt where it is missing and the machine allows it (root and apt-get);
otherwise the test is skipped with the reason. Playwright drives it through
``executable_path``: ``playwright install`` (a download) is never run.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

CANDIDATES = ("chromium", "chromium-browser")


def _found() -> str | None:
    return next((path for name in CANDIDATES if (path := shutil.which(name))), None)


def _apt(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(["apt-get", *args], env=env, capture_output=True, text=True, timeout=900)


def _install() -> str:
    """Why apt could not install Chromium, or '' when it did."""
    if os.name != "posix" or os.geteuid() != 0:
        return "not root, so apt-get cannot install it"
    if shutil.which("apt-get") is None:
        return "no apt-get on this machine"
    if _apt("install", "-y", "-q", "chromium").returncode == 0:
        return ""
    _apt("update", "-q")  # a fresh machine may not know the package yet
    done = _apt("install", "-y", "-q", "chromium")
    return "" if done.returncode == 0 else f"apt-get install chromium failed: {done.stderr[-300:]}"


def system_chromium() -> str:
    """The Chromium executable, installing it when possible; skips the test otherwise."""
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed (dev extra)")
    path = _found()
    if path is None:
        reason = _install()
        path = _found()
        if path is None:
            pytest.skip(f"no system Chromium (Debian package 'chromium'): {reason}")
    return path

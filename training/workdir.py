"""The run folder: worked on locally, mirrored to ``--out`` when that is remote.

A local ``--out`` is the working folder itself. For ``s3://`` the run is built in
``work_dir`` (the pod's scratch volume) and mirrored to the store after every epoch,
so a pod that is killed and rescheduled on another node downloads the mirror and
resumes (BackupAndRestore) instead of starting over.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

import keras

from dataset.core.store import Store, open_store

logger = logging.getLogger(__name__)


class RunFolder:
    def __init__(self, out: str, work_dir: str | None) -> None:
        self.out = out
        self.store: Store = open_store(out)
        self.store.check()
        local = self.store.local_path("summary.json")
        self.remote = local is None
        if work_dir:
            self.path = Path(work_dir)
        elif local is not None:
            self.path = local.parent
        else:
            self.path = Path(tempfile.mkdtemp(prefix="s2s-run-"))
        self.path.mkdir(parents=True, exist_ok=True)

    def pull(self) -> int:
        """Download what a previous attempt mirrored (nothing for a local run)."""
        if not self.remote:
            return 0
        count = 0
        for key in self.store.list(""):
            dest = self.path / key
            if not dest.exists():
                dest.parent.mkdir(parents=True, exist_ok=True)
                self.store.download(key, dest)
                count += 1
        if count:
            logger.info("resuming: pulled %d file(s) of %s", count, self.out)
        return count

    def push(self) -> None:
        """Mirror the working folder to the store (a no-op when they are the same)."""
        if not self.remote:
            return
        files = sorted(p.relative_to(self.path).as_posix() for p in self.path.rglob("*"))
        # Backups last: a pod killed mid-push must not leave a mirror whose backup claims
        # an epoch that its log and checkpoints do not hold yet.
        files.sort(key=lambda name: name.startswith("backup"))
        for name in files:
            if (self.path / name).is_file():
                self.store.upload(self.path / name, name)

    def clear(self) -> None:
        """Delete everything of an earlier run, locally and in the mirror."""
        for child in list(self.path.iterdir()):
            if child.is_dir():
                shutil.rmtree(child)
            else:
                child.unlink()
        if self.remote:
            for key in list(self.store.list("")):
                self.store.delete(key)


class PushEachEpoch(keras.callbacks.Callback):
    """Mirror the run folder after every epoch (remote ``--out`` only)."""

    def __init__(self, run: RunFolder) -> None:
        super().__init__()
        self.run = run

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.run.push()


def delete_mirrored(run: RunFolder, prefix: str) -> None:
    """Remove ``prefix`` from the mirror (a finished phase's backup must not be resumed)."""
    if run.remote:
        for key in list(run.store.list(prefix)):
            run.store.delete(key)

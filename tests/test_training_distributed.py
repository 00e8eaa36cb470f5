"""Preemption and multi-worker runs: real subprocesses, killed or cooperating."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import free_port
from tests.training_fixtures import write_training_dataset

REPO = Path(__file__).resolve().parents[1]
FIT = ["--backbone", "tiny", "--weights", "none", "--batch-size", "8", "--image-size", "32"]


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("TF_CONFIG", None)
    return {**env, **extra}


def _fit(dataset: str, out: str, *extra: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "training", "fit", "--dataset", dataset, "--out", out, *FIT, *extra],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


@pytest.mark.slow
def test_backup_and_restore_resumes_after_a_kill(tmp_path: Path) -> None:
    dataset = write_training_dataset(tmp_path / "store", per_cell=2)
    out = tmp_path / "run"
    args = ("--epochs", "4", "--steps-per-epoch", "40")
    first = _fit(dataset, str(out), *args, env=_env())
    metadata = out / "backup/finetune/training_metadata.json"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and first.poll() is None:
        if metadata.is_file() and json.loads(metadata.read_text() or "{}").get("epoch", 0) >= 2:
            break
        time.sleep(0.02)
    assert first.poll() is None, first.communicate()[0][-2000:]
    first.send_signal(signal.SIGKILL)  # a preempted pod: no clean-up at all
    first.wait()
    done_before = json.loads(metadata.read_text())["epoch"]
    assert 2 <= done_before < 4 and not (out / "summary.json").exists()

    second = _fit(dataset, str(out), *args, env=_env())
    output = second.communicate(timeout=120)[0]
    assert second.returncode == 0, output[-2000:]
    assert "Epoch 1/4" not in output and f"Epoch {done_before + 1}/4" in output
    epochs = pd.read_csv(out / "logs/training.csv")["epoch"].tolist()
    assert sorted(set(epochs)) == [0, 1, 2, 3]
    assert json.loads((out / "summary.json").read_text())["best"]["epoch"] is not None


@pytest.mark.slow
def test_multi_worker_mirrored_strategy_with_two_local_workers(tmp_path: Path) -> None:
    dataset = write_training_dataset(tmp_path / "store", per_cell=2)
    out = tmp_path / "run"
    workers = [f"127.0.0.1:{free_port()}" for _ in range(2)]
    procs = []
    for index in range(2):
        config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        env = _env(TF_CONFIG=json.dumps(config))
        procs.append(_fit(dataset, str(out), "--epochs", "2", "--steps-per-epoch", "3",
                          "--strategy", "multi_worker", "--format", "json", env=env))  # fmt: skip
    outputs = [p.communicate(timeout=180)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs[0][-1500:] + outputs[1][-1500:]
    summary = json.loads((out / "summary.json").read_text())  # written by the chief only
    assert summary["runtime"]["strategy"] == "multi_worker"
    assert summary["runtime"]["workers"] == 2 and summary["runtime"]["replicas"] == 2
    assert (out / "model/encoder.keras").is_file()
    assert pd.read_csv(out / "logs/training.csv")["epoch"].tolist() == [0, 1]

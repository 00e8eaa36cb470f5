"""Training from and to S3 (moto's server): staging, a killed pod resumed, a finished run kept."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from tests.training_fixtures import cli, write_training_dataset

REPO = Path(__file__).resolve().parents[1]
FIT = ["--backbone", "tiny", "--weights", "none", "--batch-size", "8", "--image-size", "32"]


def _fit(dataset: str, out: str, work: Path, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("TF_CONFIG", None)
    command = [sys.executable, "-m", "training", "fit", "--dataset", dataset, "--out", out,
               "--work-dir", str(work / "run"), "--cache-dir", str(work / "cache"), *FIT, *extra]  # fmt: skip
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _object(bucket: str, key: str) -> bytes | None:
    client = boto3.client("s3")
    try:
        return bytes(client.get_object(Bucket=bucket, Key=key)["Body"].read())
    except client.exceptions.NoSuchKey:
        return None


@pytest.mark.slow
def test_fit_stages_an_s3_dataset_and_resumes_an_s3_run_after_a_kill(
    s3_bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bucket = s3_bucket.removeprefix("s3://")
    dataset = write_training_dataset(s3_bucket, per_cell=2)
    out = f"{s3_bucket}/models/encoders/r1"
    args = ("--epochs", "3", "--steps-per-epoch", "30")
    first = _fit(dataset, out, tmp_path / "pod1", *args)
    metadata = "models/encoders/r1/backup/finetune/training_metadata.json"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and first.poll() is None:
        mirrored = _object(bucket, metadata)
        if mirrored and json.loads(mirrored).get("epoch", -1) >= 0:
            break  # one epoch mirrored to S3
        time.sleep(0.1)
    assert first.poll() is None, first.communicate()[0][-2000:]
    first.send_signal(signal.SIGKILL)  # the node is lost with its scratch volume
    first.wait()
    # What the run needs was staged and checked: index, label weights, every shard.
    cache = next((tmp_path / "pod1/cache").iterdir())
    index = json.loads((cache / "shards/index.json").read_text())
    assert (cache / "label_weights.json").is_file()
    for split in index["splits"].values():
        assert all((cache / "shards" / name).is_file() for name in split["files"])

    second = _fit(dataset, out, tmp_path / "pod2", *args)  # a new pod, empty scratch
    output = second.communicate(timeout=180)[0]
    assert second.returncode == 0, output[-3000:]
    assert "Epoch 1/3" not in output and "Epoch 3/3" in output
    recorded = _object(bucket, "models/encoders/r1/summary.json")
    summary = json.loads(recorded or b"{}")
    assert [row["epoch"] for row in summary["history"]] == [0, 1, 2]  # the killed pod's too
    assert summary["config"]["batch_size"] == 8
    assert _object(bucket, "models/encoders/r1/model/encoder.keras")

    # A finished run is never rewritten: the same command leaves it as it is, ...
    config = _object(bucket, "models/encoders/r1/config.yaml")
    again = ["fit", "--dataset", dataset, "--out", out, "--work-dir", str(tmp_path / "pod3"),
             "--cache-dir", str(tmp_path / "pod3-cache"), *FIT, *args]  # fmt: skip
    code, _, err = cli(capsys, *again)
    assert code == 0, err
    assert _object(bucket, "models/encoders/r1/summary.json") == recorded
    # ... and other settings are refused, naming them, before anything is written.
    code, _, err = cli(capsys, *again, "--batch-size", "16")
    assert code == 2
    assert "trained with other settings (config.yaml: batch_size=8, received 16)" in err
    assert _object(bucket, "models/encoders/r1/config.yaml") == config

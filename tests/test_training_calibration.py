"""Calibrated thresholds, decisions, chance figures and the native-log filter (no training)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dataset.core.errors import UserError
from dataset.core.native_logs import copy_filtered
from dataset.taxonomy.tasks import TaskSpec
from training.calibration import attributes, best_f1_threshold, calibrate, decide, decision_report
from training.evaluation import chance

ROOT = Path(__file__).resolve().parents[1]
COLOUR = TaskSpec("colour", "multi_label", ["red", "green", "blue"])
TYPE = TaskSpec("type", "single_label", ["dresses", "jeans"])


def _f1(truth: np.ndarray, pred: np.ndarray) -> float:
    return 2 * float((truth & pred).sum()) / float(pred.sum() + truth.sum())


def test_threshold_maximises_f1_against_every_cut() -> None:
    rng = np.random.default_rng(0)
    for _ in range(100):
        n = int(rng.integers(3, 40))
        truth = rng.random(n) < 0.3
        scores = np.round(rng.random(n), 2)  # ties included
        threshold = best_f1_threshold(truth, scores)
        if not truth.any():
            assert threshold is None
            continue
        assert threshold is not None
        best = max(_f1(truth, scores >= cut) for cut in np.unique(scores))
        assert _f1(truth, scores >= threshold) == pytest.approx(best)


def test_a_low_threshold_for_a_head_that_underscores_its_positives() -> None:
    # The positives score 0.3-0.4 and the negatives below 0.2: 0.5 finds none of them.
    truth = np.array([1, 1, 1, 0, 0, 0, 0, 0], dtype=bool)
    scores = np.array([0.40, 0.35, 0.30, 0.18, 0.10, 0.05, 0.04, 0.02])
    assert best_f1_threshold(truth, scores) == pytest.approx(0.24)
    report = decision_report(
        TaskSpec("c", "multi_label", ["x"]), truth[:, None], scores[:, None], np.array([0.24])
    )
    assert report["macro_f1"] == 1.0 and report["labels"]["x"]["precision"] == 1.0


def test_calibrate_records_multi_label_tasks_and_labels_without_positives() -> None:
    truth = np.array([[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=np.float32)
    probs = np.array([[0.9, 0.2, 0.1], [0.6, 0.3, 0.2], [0.4, 0.8, 0.3], [0.2, 0.1, 0.9]])
    types = np.array([[1, 0], [0, 1], [1, 0], [0, 1]], dtype=np.float32)
    result = calibrate(
        {"colour": COLOUR, "type": TYPE}, {"colour": (truth, probs), "type": (types, types)}, "val"
    )
    assert set(result["thresholds"]) == {"colour"}  # single-label heads decide by argmax
    assert result["thresholds"]["colour"]["red"] == pytest.approx(0.5)  # between 0.6 and 0.4
    assert result["thresholds"]["colour"]["blue"] == 0.5  # no positive: the default
    assert result["calibration"] == {
        "split": "val",
        "images": 4,
        "labels_without_positives": ["colour/blue"],
    }
    json.dumps(result)  # recorded as is in encoder.json


def test_decisions_attributes_and_chance() -> None:
    probs = np.array([[0.3, 0.2, 0.6], [0.1, 0.45, 0.2]])
    limits = np.array([0.25, 0.4, 0.7])
    assert decide(COLOUR, probs, limits).tolist() == [[True, False, False], [False, True, False]]
    assert decide(COLOUR, probs, None).tolist() == [[False, False, True], [False, False, False]]
    assert decide(TYPE, np.array([[0.4, 0.6]]), None).tolist() == [[False, True]]
    seen = attributes(
        {"colour": COLOUR, "type": TYPE},
        {"colour": np.array([0.3, 0.9, 0.6]), "type": np.array([0.7, 0.3])},
        {"colour": {"red": 0.25, "green": 0.4, "blue": 0.7}},
    )
    assert seen == {
        "colour": [{"label": "green", "prob": 0.9}, {"label": "red", "prob": 0.3}],
        "type": [{"label": "dresses", "prob": 0.7}],
    }
    truth = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 1], [1, 0, 0]])
    odds = chance(COLOUR, truth)
    prevalence = np.array([0.75, 0.25, 0.25])
    assert odds["top1_accuracy"] == 0.75
    assert odds["macro_f1"] == pytest.approx(np.mean(2 * prevalence / (1 + prevalence)), abs=1e-4)
    assert chance(TYPE, np.array([[1, 0], [1, 0], [0, 1]])) == {"accuracy": pytest.approx(0.6667)}


def test_thresholds_in_encoder_json_are_checked(tmp_path: Path) -> None:
    from training.encoder_io import read_encoder_meta

    meta = {"tasks": {"colour": {"kind": "multi_label", "classes": ["red"]}}, "image_size": 32}
    meta |= {"encoder_id": "x", "thresholds": {"colour": {"red": "high"}}}
    (tmp_path / "encoder.json").write_text(json.dumps(meta))
    with pytest.raises(UserError, match=r"thresholds\.colour\.red must be a number in 0\.\.1"):
        read_encoder_meta(str(tmp_path))


def test_native_info_lines_are_dropped_and_everything_else_kept() -> None:
    noise = [
        b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
        b"I0000 00:00:1796405992.634119   28819 port.cc:153] oneDNN custom operations are on.",
        b"I1204 17:40:01.123456   28819 tf_record_dataset_op.cc:396] The default buffer size",
    ]
    kept = [
        b"W0000 00:00:1796405992.6 28819 local_rendezvous.cc:404] a warning that matters",
        b"E0000 00:00:1796405992.6 28819 cuda_dnn.cc:1] Could not load cuDNN",
        b"Traceback (most recent call last):",
        b"Index 3 is out of bounds",
        b"\rindexing:  50%|#####     | 1/2\rindexing: 100%|##########| 2/2",
    ]
    source_read, source_write = os.pipe()
    sink_read, sink_write = os.pipe()
    mixed = [line for pair in zip(noise, kept[:3], strict=True) for line in pair] + kept[3:]
    os.write(source_write, b"\n".join(mixed) + b"\nno end of line")
    os.close(source_write)
    copy_filtered(source_read, sink_write)
    os.close(sink_write)
    out = os.read(sink_read, 1 << 16)
    for line in noise:
        assert line not in out
    for line in kept:
        assert line in out
    assert out.endswith(b"\nno end of line")


def test_native_lines_after_an_unfinished_progress_bar_are_dropped_too() -> None:
    bar = b"\r   export:   0%|          | 0/2206 [00:00<?, ?item/s]"
    native = (
        b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        b"I0000 00:00:1796405992.634119   28819 port.cc:153] oneDNN custom operations are on.\n"
        b"W0000 00:00:1796405992.7 28819 op.cc:1] a warning that matters\n"
    )
    source_read, source_write = os.pipe()
    sink_read, sink_write = os.pipe()
    os.write(source_write, bar + native + b"\r   export: 100%")
    os.close(source_write)
    copy_filtered(source_read, sink_write)
    os.close(sink_write)
    assert os.read(sink_read, 1 << 16) == (
        bar + b"W0000 00:00:1796405992.7 28819 op.cc:1] a warning that matters\n\r   export: 100%"
    )


# A command under the filter; the filter is waited for at most 1 s at its end.
FILTERED_COMMAND = """
import subprocess, sys
from dataset.core import native_logs
native_logs.DRAIN_TIMEOUT_S = 1.0
with native_logs.quiet_native_logs():
    {body}
"""
LEFT_HOLDING = "still holds standard error"


def _run_filtered(body: str) -> subprocess.CompletedProcess[str]:
    code = FILTERED_COMMAND.format(body=body.replace("\n", "\n    "))
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip


def test_a_command_with_a_spawn_pool_ends_without_waiting_for_the_filter() -> None:
    # multiprocessing's resource tracker, started by the pool, outlives the command: it
    # must not hold the filter's pipe (every dedup command used to wait 10 s at its end).
    done = _run_filtered(
        "import multiprocessing\n"
        "from concurrent.futures import ProcessPoolExecutor\n"
        "with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context('spawn')) as pool:\n"
        "    print('pool said', pool.submit(abs, -3).result(), file=sys.stderr)"
    )
    assert done.returncode == 0, done.stderr
    assert "pool said 3" in done.stderr
    assert LEFT_HOLDING not in done.stderr


def test_a_process_left_holding_standard_error_is_reported_not_waited_for() -> None:
    done = _run_filtered("subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(3)'])")
    assert done.returncode == 0, done.stderr
    assert LEFT_HOLDING in done.stderr

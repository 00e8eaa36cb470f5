"""The pair-trained retrieval head: its loss, the P x K batches of both input pipelines,
its configuration, and fit -> eval-retrieval with the head against the attribute baseline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dataset.core.errors import UserError
from tests.training_fixtures import SPECS, cli, write_training_dataset
from training.config import parse_config
from training.data import stage_dataset
from training.encoder_io import Encoder
from training.inputs import batches, scan_records
from training.model import RETRIEVAL_OUTPUT
from training.pair_loss import MultiPositiveInfoNCE
from training.pydata import grouped_pass, similar_runs_together
from training.retrieval.embed import choose_combination

ROOT = Path(__file__).resolve().parents[1]
LOSS_CASE = """
import numpy as np
from training.pair_loss import MultiPositiveInfoNCE
z = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0], [-1.0, 0.0]], "float32")
groups = np.array([3.0, 3.0, 9.0, 9.0])
print(float(np.asarray(MultiPositiveInfoNCE(0.5)(groups, z))))
"""


def reference_loss(z: np.ndarray, groups: np.ndarray, temperature: float) -> float:
    """The supervised contrastive loss written out anchor by anchor."""
    logits = z @ z.T / temperature
    total = []
    for i in range(len(z)):
        others = [j for j in range(len(z)) if j != i]
        log_norm = np.log(np.sum(np.exp(logits[i, others])))
        positives = [j for j in others if groups[j] == groups[i]]
        total.append(np.mean([log_norm - logits[i, j] for j in positives]) if positives else 0.0)
    return float(np.mean(total))


def test_loss_matches_the_written_out_formula_on_both_backends() -> None:
    z = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0], [-1.0, 0.0]], "float32")
    groups = np.array([3.0, 3.0, 9.0, 9.0])
    expected = reference_loss(z, groups, 0.5)
    assert float(np.asarray(MultiPositiveInfoNCE(0.5)(groups, z))) == pytest.approx(expected, 1e-5)
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", LOSS_CASE], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert float(done.stdout.split()[-1]) == pytest.approx(expected, 1e-5)
    # Pulling a pair together lowers the loss: the gradient has the right sign.
    closer = z.copy()
    closer[1] = [0.8, 0.6]
    assert reference_loss(closer, groups, 0.5) < expected


def test_grouped_pass_makes_runs_of_one_group() -> None:
    groups = np.array([1, 1, 1, 2, 2, 3])
    order = np.random.default_rng(0).permutation(len(groups))
    arranged = grouped_pass(order, groups, 3, np.random.default_rng(1))
    assert len(arranged) == 6
    runs = groups[arranged].reshape(-1, 3)
    assert (runs == runs[:, :1]).all()
    assert list(arranged[::3]) == list(order[:2])  # the anchors keep the shuffled order


def test_similar_runs_come_in_pairs_of_one_kind() -> None:
    runs = np.arange(14).reshape(7, 2)
    kinds = np.array([3, 4, 3, 5, 4, 3, 6])
    arranged = similar_runs_together(runs, kinds, np.random.default_rng(0))
    assert sorted(arranged[:, 0].tolist()) == runs[:, 0].tolist()  # every run, once
    pairs = kinds[arranged[:6, 0] // 2].reshape(3, 2)
    # kind 3 has three runs: one pair of 3s; the odd 3, 5 and 6 pair up or end the pass
    assert sorted(map(tuple, pairs.tolist())).count((3, 3)) == 1
    assert sorted(map(tuple, pairs.tolist())).count((4, 4)) == 1


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_training_dataset(tmp_path_factory.mktemp("pairs") / "store", per_cell=4)


@pytest.mark.parametrize("pipeline", ["tf_data", "python"])
def test_training_batches_are_groups_of_k_views(toy: str, pipeline: str) -> None:
    info = stage_dataset(toy)
    scan = scan_records(info, "train", SPECS, pipeline)
    data = batches(info, "train", SPECS, scan, 8, 32, pipeline, training=True, steps=3,
                   group_views=2, similar_tasks=("type", "colour"))  # fmt: skip
    seen = alike = 0
    for step, (images, labels) in enumerate(data):
        groups = np.asarray(labels[RETRIEVAL_OUTPUT])
        assert np.asarray(images).shape == (8, 32, 32, 3)
        assert (groups[0::2] == groups[1::2]).all()  # each image has a positive
        # runs come in pairs of one type and colour, hard negatives for each other (the
        # python reader pairs a pass's odd runs out with each other)
        kinds = [np.argmax(np.asarray(labels[f"{task}_probs"]), axis=1) for task in SPECS]
        alike += int(np.logical_and.reduce([k[0::4] == k[2::4] for k in kinds]).sum())
        # user and shop photos of a product share a pair: not every run is one image twice
        seen += len(set(groups.tolist()))
        if step == 2:
            break
    assert seen > 3
    assert alike >= 5  # of 6 pairs; 1 in 9 by chance (3 types x 3 colours)


def test_retrieval_block_is_validated() -> None:
    config = parse_config({"retrieval": {"enabled": True, "dim": 32}}, "inline.yaml")
    assert config.retrieval.dim == 32 and config.retrieval.views_per_group == 2
    with pytest.raises(UserError, match="views_per_group"):
        parse_config({"batch_size": 9, "retrieval": {"enabled": True}}, "inline.yaml")
    with pytest.raises(UserError, match="margin"):
        parse_config({"retrieval": {"margin": 0.2}}, "inline.yaml")


def test_embedding_choice_needs_the_head() -> None:
    without = Encoder(model=None, tasks={"colour": ["red"]}, image_size=32, encoder_id="x")
    assert choose_combination(without, "auto", None, False).tasks == ("colour",)
    with pytest.raises(UserError, match="no retrieval head"):
        choose_combination(without, "retrieval", None, False)
    head = Encoder(model=None, tasks={"colour": ["red"]}, image_size=32, encoder_id="y",
                   meta={"retrieval": {"dim": 8}})  # fmt: skip
    assert choose_combination(head, "auto", None, False).tasks == ("retrieval",)
    assert choose_combination(head, "attributes", None, False).tasks == ("colour",)
    with pytest.raises(UserError, match="--embedding attributes"):
        choose_combination(head, "auto", "colour=2", False)


def test_fit_with_the_head_then_retrieval_uses_it(
    toy: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(tmp_path / "model")
    code, _, err = cli(capsys, "fit", "--dataset", toy, "--out", out, "--backbone", "tiny",
                       "--weights", "none", "--batch-size", "16", "--learning-rate", "3e-3",
                       "--image-size", "32", "--epochs", "3", "--retrieval", "--format", "json")  # fmt: skip
    assert code == 0, err
    meta = json.loads((Path(out) / "model/encoder.json").read_text())
    assert meta["retrieval"] == {"dim": 128}
    reports = {}
    for embedding in ("auto", "attributes"):
        code, stdout, err = cli(capsys, "eval-retrieval", "--encoder", out, "--pairs", toy,
                                "--split", "all", "--top-k", "1,10", "--embedding", embedding,
                                "--format", "json")  # fmt: skip
        assert code == 0, err
        reports[embedding] = json.loads(stdout)
    assert reports["auto"]["combination"]["tasks"] == ["retrieval"]
    assert reports["attributes"]["combination"]["tasks"] == ["colour", "type"]
    head = reports["auto"]
    chance = 10 / head["gallery"]
    assert head["queries"] == reports["attributes"]["queries"] > 0
    assert head["top_k"]["10"] > 2 * chance  # learnt after three short epochs

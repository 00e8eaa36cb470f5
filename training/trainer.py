"""``s2s-train fit``: stage, check, build, train in two phases, save the run.

Phases: with pretrained weights, ``freeze_epochs`` epochs train the heads on a frozen
backbone (BatchNorm in inference mode), then the whole network is fine-tuned; one
learning-rate curve spans both (training/optim.py). Each phase is one ``fit`` with
``BackupAndRestore``: a killed run restarts the epoch it lost; a finished phase is
recorded in ``state.json`` with its weights, so a restart skips it.

Run folder (``--out``): ``config.yaml`` (resolved), ``state.json``, ``backup/``,
``checkpoints/best.weights.h5`` (+ ``best.json``), ``logs/training.csv`` (and
``logs/tensorboard/`` when installed), ``model/encoder.keras`` + ``model/encoder.json``
(the best epoch's weights) and ``summary.json``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from dataset.core.errors import UserError
from dataset.core.store import open_store
from dataset.taxonomy.tasks import TaskSpec
from training.backend import on_tensorflow
from training.config import TrainConfig
from training.runtime import peak_gpu_memory_gib, setup_runtime

if TYPE_CHECKING:
    from training.data import DatasetInfo

logger = logging.getLogger(__name__)


class TrainingDiverged(UserError):
    """The loss stopped being finite: retrying the same run cannot help."""


def git_commit() -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except OSError:
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def _phases(config: TrainConfig) -> list[tuple[str, int, int]]:
    freeze = config.freeze_epochs if config.weights != "none" else 0  # nothing to protect
    phases = [("frozen", 0, freeze)] if freeze else []
    if config.epochs > freeze:
        phases.append(("finetune", freeze, config.epochs))
    return phases


def predict_split(model: Any, dataset: Any, tasks: dict[str, TaskSpec]) -> dict[str, Any]:
    """Labels and probabilities of every record of a finite pipeline, per task."""
    truth: dict[str, list[np.ndarray]] = {name: [] for name in tasks}
    probs: dict[str, list[np.ndarray]] = {name: [] for name in tasks}
    for element in dataset:
        images, labels = element[0], element[1]
        outputs = model(images, training=False)
        for name in tasks:
            truth[name].append(np.asarray(labels[f"{name}_probs"]))
            probs[name].append(np.asarray(outputs[f"{name}_probs"], dtype=np.float32))
    return {
        name: (np.concatenate(truth[name]), np.concatenate(probs[name]))
        for name in tasks
        if truth[name]
    }


def dataset_identity(info: DatasetInfo) -> str:
    """Hash of what the shards hold: ``index.json``, the label weights, each shard's size."""
    shards = info.root / "shards"
    digest = hashlib.sha256((shards / "index.json").read_bytes())
    digest.update(json.dumps(info.label_weights, sort_keys=True).encode())
    for path in sorted(shards.glob("*.tfrecord")):
        digest.update(f"{path.name}:{path.stat().st_size}".encode())
    return digest.hexdigest()[:16]


def epoch_history(log: Path, config: TrainConfig) -> list[dict[str, Any]]:
    """Every epoch the run trained, from its CSV log: attempts before a resume included.

    An epoch logged twice (killed after its log row, before its backup) keeps its last row.
    """
    if not log.is_file():
        return []
    import pandas as pd

    rows = pd.read_csv(log).drop_duplicates("epoch", keep="last").sort_values("epoch")
    frozen = config.freeze_epochs if config.weights != "none" else 0
    history = []
    for row in rows.to_dict("records"):
        epoch = int(row.pop("epoch"))
        phase = "frozen" if epoch < frozen else "finetune"
        history.append({"phase": phase, "epoch": epoch, **{k: float(v) for k, v in row.items()}})
    return history


def earlier_run_conflict(
    folder: Path, state: dict[str, Any], identity: str, config: TrainConfig
) -> str | None:
    """Why the run in ``folder`` cannot be resumed (or its record kept) by this one."""
    if state.get("dataset", identity) != identity:
        # Resuming would evaluate a model trained on another split: test images seen in training.
        return "trained on another version of the dataset (state.json)"
    recorded = folder / "config.yaml"
    if not recorded.is_file():
        return None
    earlier = yaml.safe_load(recorded.read_text()) or {}
    now = config.trained_with()
    changed = [
        f"{key}={earlier.get(key)!r}, received {value!r}"
        for key, value in now.items()
        if earlier.get(key) != value
    ]
    if changed:
        return f"trained with other settings (config.yaml: {'; '.join(changed)})"
    return None


def fit(config: TrainConfig, dataset_uri: str, out: str, overwrite: bool = False) -> dict[str, Any]:
    runtime = setup_runtime(config)  # first: MultiWorkerMirroredStrategy needs it so
    import keras

    from training.backbone import check_backbone
    from training.calibration import calibrate
    from training.callbacks import BestCheckpoint, NanGuard, Throughput, tensorboard_callback
    from training.data import (
        check_classes,
        check_split,
        loss_weights_for,
        stage_dataset,
        with_known_length,
    )
    from training.encoder_io import save_encoder
    from training.inputs import batches, choose_pipeline, scan_records
    from training.losses import build_losses
    from training.metrics import keras_metrics, task_report
    from training.model import (
        RETRIEVAL,
        RETRIEVAL_OUTPUT,
        build_encoder,
        float32_twin,
        set_backbone_trainable,
        training_view,
    )
    from training.optim import build_optimizer
    from training.workdir import PushEachEpoch, RunFolder, delete_mirrored

    started = time.perf_counter()
    check_backbone(config.backbone)
    keras.utils.set_random_seed(config.seed)
    run = RunFolder(out, config.work_dir)
    run.pull()
    info = stage_dataset(dataset_uri, config.cache_dir, config.download_workers)
    state_path = run.path / "state.json"
    state = json.loads(state_path.read_text()) if state_path.is_file() else {"done": []}
    identity = dataset_identity(info)
    conflict = earlier_run_conflict(run.path, state, identity, config)
    finished = run.path / "summary.json"
    if conflict and not overwrite:
        raise UserError(
            f"{out}: holds a run {conflict}; choose a new --out, or pass --overwrite to start over"
        )
    if conflict or (overwrite and finished.is_file()):
        logger.warning("%s: %s: deleting the earlier run", out, conflict or "--overwrite")
        run.clear()
        state = {"done": []}
    elif finished.is_file():
        # A retried pod or a repeated command: the record stays the one of the training.
        logger.info("%s: already finished with this dataset and config: nothing to do", out)
        return dict(json.loads(finished.read_text()))
    state["dataset"] = identity
    tasks = info.select(config.tasks)
    image_size = config.image_size or info.image_size
    pipeline = choose_pipeline(config.input_pipeline)
    if config.deterministic and (pipeline == "tf_data" or on_tensorflow()):
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    scans = {split: scan_records(info, split, tasks, pipeline) for split in ("train", "val")}
    for split, scan in scans.items():
        check_split(info, split, scan, config.max_bad_fraction)
    check_classes(tasks, scans["train"], config.allow_missing_classes)
    weights = loss_weights_for(info, tasks, scans["train"])
    steps = config.steps_per_epoch or max(1, scans["train"].drawn // config.batch_size)
    if scans["train"].drawn < config.batch_size and not config.steps_per_epoch:
        raise UserError(
            f"the training split draws {scans['train'].drawn} images per epoch, fewer than "
            f"one batch. Received: batch_size={config.batch_size}"
        )
    chief = runtime.is_chief
    folder = run.path
    if chief:
        (folder / "config.yaml").write_text(
            yaml.safe_dump({**config.resolved(), "dataset": dataset_uri}, sort_keys=False)
        )
    retrieval = config.retrieval
    group_views = retrieval.views_per_group if retrieval.enabled else None
    similar_tasks = tuple(name for name in retrieval.similar_tasks if name in tasks)
    train_data = batches(
        info, "train", tasks, scans["train"], config.batch_size, image_size, pipeline,
        training=True, augment=config.augment, seed=config.seed,
        shuffle_buffer=config.shuffle_buffer, steps=steps, group_views=group_views,
        similar_tasks=similar_tasks,
    )  # fmt: skip
    val_data = batches(
        info, "val", tasks, scans["val"], config.batch_size, image_size, pipeline,
        multiple_of=runtime.replicas if runtime.kind == "data_parallel" else 1,
        group_views=group_views,
    )  # fmt: skip
    if pipeline == "tf_data" and runtime.workers == 1 and runtime.kind != "data_parallel":
        # each worker of a multi-worker run sees only its share; the python pipeline
        # (a PyDataset) knows its length already
        val_data = with_known_length(val_data, scans["val"], config.batch_size)

    def new_encoder(weights: str) -> Any:
        return build_encoder(
            tasks, config.backbone, image_size, weights, config.separate,
            config.embedding_dim, config.dropout,
            retrieval.dim if retrieval.enabled else None,
            tuple(
                name
                for name in config.colour_statistics
                if name in tasks or (name == RETRIEVAL and retrieval.enabled)
            ),
        )  # fmt: skip

    with runtime.strategy.scope():
        encoder = new_encoder(config.weights)
        model = training_view(encoder, tasks)
    best = BestCheckpoint(folder / "checkpoints", config.monitor, write=chief)
    throughput = Throughput(config.batch_size)
    backup_root = "backup" if chief else f"backup-worker{runtime.worker_index}"
    losses = build_losses(tasks, weights, retrieval, config.label_smoothing)
    loss_weights = {
        output: retrieval.loss_weight if output == RETRIEVAL_OUTPUT else 1.0 for output in losses
    }
    for phase, start, end in _phases(config):
        phase_weights = folder / "checkpoints" / f"phase-{phase}.weights.h5"
        set_backbone_trainable(encoder, phase != "frozen")
        with runtime.strategy.scope():
            model.compile(
                optimizer=build_optimizer(config, steps, start),
                loss=losses,
                loss_weights=loss_weights,
                metrics=keras_metrics(tasks),
                jit_compile=runtime.xla,
            )
        if phase in state["done"] and phase_weights.is_file():
            model.load_weights(phase_weights)
            logger.info("phase %s already done: loaded %s", phase, phase_weights)
            continue
        guard = NanGuard()
        callbacks: list[Any] = [guard, throughput, best]
        if chief:
            (folder / "logs").mkdir(parents=True, exist_ok=True)
            callbacks.append(
                keras.callbacks.CSVLogger(str(folder / "logs/training.csv"), append=True)
            )
            board = (
                tensorboard_callback(folder / "logs" / "tensorboard")
                if config.tensorboard
                else None
            )
            callbacks += [board] if board is not None else []
        # Last: an epoch is backed up only once its log row and checkpoint are written,
        # so a kill between them never loses an epoch from the log.
        callbacks.append(keras.callbacks.BackupAndRestore(str(folder / backup_root / phase)))
        if chief and run.remote:
            callbacks.append(PushEachEpoch(run))
        model._initial_epoch = None  # BackupAndRestore of an earlier phase set it
        logger.info("phase %s: epochs %d..%d, %d steps each", phase, start + 1, end, steps)
        model.fit(
            train_data,
            validation_data=val_data,
            epochs=end,
            initial_epoch=start,
            steps_per_epoch=steps,
            shuffle=False,  # the input pipeline shuffles; Keras would only warn
            callbacks=callbacks,
            verbose=2 if chief else 0,
        )
        if guard.diverged:
            raise TrainingDiverged(
                f"{guard.diverged}; lower --learning-rate, keep clipnorm, or check the data "
                f"(best checkpoint so far: {best.weights_path if best.best else 'none'})"
            )
        if chief:
            model.save_weights(phase_weights)
            state["done"].append(phase)
            state_path.write_text(json.dumps(state))
            delete_mirrored(run, f"{backup_root}/{phase}/")
            run.push()
    if not chief:
        best.wait_for_writer()
    if best.weights_path.is_file():
        model.load_weights(best.weights_path)
    if runtime.mixed_precision:
        # Mixed precision is for training: calibration, evaluate, search and the export
        # compute in float32, the same on every device.
        encoder = float32_twin(encoder, lambda: new_encoder("none"))
    history = epoch_history(folder / "logs/training.csv", config) if chief else []
    val_predictions = predict_split(encoder, val_data, tasks)
    reports = {name: task_report(tasks[name], *pair) for name, pair in val_predictions.items()}
    meta = {
        "tasks": {name: task.to_json() for name, task in tasks.items()},
        "image_size": image_size,
        "backbone": config.backbone,
        "separate": config.separate,
        "embedding_dim": config.embedding_dim,
        # the pair-trained search vector (output retrieval_embedding), preferred by search
        **({"retrieval": {"dim": retrieval.dim}} if retrieval.enabled else {}),
        "dataset": dataset_uri,
        "backend": runtime.backend,  # informative: encoder.keras loads on either backend
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **calibrate(tasks, val_predictions, "val"),  # per-label thresholds of multi-label heads
    }
    summary: dict[str, Any] = {
        "out": out,
        "dataset": {
            "uri": dataset_uri,
            "version": info.version,
            "identity": identity,
            "splits": {split: scan.to_json() for split, scan in scans.items()},
        },
        "git_commit": git_commit(),
        "config": config.resolved(),
        "runtime": {**runtime.to_json(), "input_pipeline": pipeline},
        "steps_per_epoch": steps,
        "best": {"monitor": config.monitor, "value": best.best, "epoch": best.best_epoch},
        "images_per_s": throughput.per_epoch,
        "peak_gpu_memory_gib": peak_gpu_memory_gib(runtime),
        "history": history,
        "val": reports,
        "seconds": round(time.perf_counter() - started, 1),
    }
    if chief:
        written = save_encoder(encoder, meta, open_store(str(folder)), "model/")
        summary["encoder_id"] = written["encoder_id"]
        (folder / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
        run.push()
    return summary


def images_per_second(summary: dict[str, Any]) -> float | None:
    rates = summary.get("images_per_s") or []
    return float(np.median(rates[1:] or rates)) if rates else None

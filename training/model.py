"""The encoder: raw RGB -> preprocessing -> backbone -> one head per task.

Each head is ``Dense(embedding_dim, relu)`` (the task's encoding, what search uses) ->
``Dropout`` -> ``Dense(n)`` -> softmax (single-label task) or sigmoid (multi-label).
By default one backbone is shared by every head: one forward pass yields all the
encodings, about 4x cheaper than the retailer's four models. ``separate=True`` gives
each task its own backbone, as they trained them; heads never share parameters, so
training the separate model in one ``fit`` is the same as four independent trainings
on the same batches. Outputs (float32 under mixed precision) are a dict with
``<task>_embedding`` and ``<task>_probs``; with ``retrieval_dim`` also
``retrieval_embedding``: ``Dense(retrieval_dim)`` on the pooled backbone features,
L2-normalised (the street-to-shop search vector, trained on pairs: training/pair_loss.py).
The heads named in ``colour_statistics`` (tasks, or ``retrieval``) read the image's global colour statistics
(training/colour_statistics.py) beside the pooled features: deep features shared with
type and material keep colour poorly. The statistics are standardised (batch
normalisation) and projected to :data:`STATISTICS_UNITS` features (``Dense``, relu) first:
raw, 47 numbers of about 0..1 beside the pooled features, they taught the colour head less
(docs/benchmarks.md, issue 15, item 19).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dataset.taxonomy.tasks import TaskSpec
from training.backbone import build_backbone
from training.colour_statistics import ColourStatistics
from training.preprocessor import ImagePreprocessor
from training.runtime import global_dtype_policy

RETRIEVAL = "retrieval"  # the embedding head's name in layer names and encoder.json
RETRIEVAL_OUTPUT = f"{RETRIEVAL}_embedding"
STATISTICS_UNITS = 64  # the colour statistics' projection, shared by the heads that read it


def backbone_layers(encoder: Any) -> list[Any]:
    """The backbone sub-models of an encoder (one, or one per task)."""
    return [layer for layer in encoder.layers if layer.name.endswith("backbone")]


def build_encoder(
    tasks: dict[str, TaskSpec],
    backbone: str,
    image_size: int,
    weights: str = "none",
    separate: bool = False,
    embedding_dim: int = 1000,
    dropout: float = 0.2,
    retrieval_dim: int | None = None,
    colour_statistics: tuple[str, ...] = (),
) -> Any:
    import keras

    heads = {*tasks, *([RETRIEVAL] if retrieval_dim else [])}
    unknown = sorted(set(colour_statistics) - heads)
    if unknown:
        raise ValueError(f"colour_statistics names no head of the encoder: {unknown}")
    inputs = keras.Input((None, None, 3), name="image")
    pixels = ImagePreprocessor(image_size, name="preprocess")(inputs)
    statistics = _colour_features(inputs, image_size) if colour_statistics else None
    # The shared backbone is called once: calling it per head would run it once per task.
    shared = None if separate else build_backbone(backbone, image_size, weights, "backbone")
    shared_features = None if shared is None else shared(pixels)

    def head_features(name: str) -> Any:
        """What head ``name`` reads: its backbone's pooled features (the shared one's
        unless separate), beside the colour statistics where it asks for them."""
        features = (
            build_backbone(backbone, image_size, weights, f"{name}_backbone")(pixels)
            if shared_features is None
            else shared_features
        )
        if name not in colour_statistics:
            return features
        return keras.layers.Concatenate(name=f"{name}_with_colour_statistics")(
            [features, statistics]
        )

    outputs: dict[str, Any] = {}
    for name, task in tasks.items():
        features = head_features(name)
        embedding = keras.layers.Dense(embedding_dim, activation="relu", name=f"{name}_dense")(
            features
        )
        x = keras.layers.Dropout(dropout, name=f"{name}_dropout")(embedding)
        logits = keras.layers.Dense(len(task.classes), name=f"{name}_logits")(x)
        activation = "softmax" if task.single else "sigmoid"
        # float32 outputs: under mixed precision a float16 softmax/sigmoid loses the loss.
        outputs[f"{name}_embedding"] = keras.layers.Activation(
            "linear", dtype="float32", name=f"{name}_embedding"
        )(embedding)
        outputs[f"{name}_probs"] = keras.layers.Activation(
            activation, dtype="float32", name=f"{name}_probs"
        )(logits)
    if retrieval_dim:
        projected = keras.layers.Dense(retrieval_dim, name=f"{RETRIEVAL}_dense")(
            head_features(RETRIEVAL)
        )
        outputs[RETRIEVAL_OUTPUT] = keras.layers.UnitNormalization(
            axis=-1, dtype="float32", name=RETRIEVAL_OUTPUT
        )(projected)
    return keras.Model(inputs, outputs, name=f"encoder_{backbone}")


def float32_twin(trained: Any, build: Callable[[], Any]) -> Any:
    """``build()`` under the float32 policy, holding ``trained``'s weights. A mixed-precision
    encoder (a GPU's) would otherwise compute in bfloat16 or float16 wherever it is loaded."""
    with global_dtype_policy("float32"):
        twin = build()
    twin.set_weights(trained.get_weights())
    return twin


def _colour_features(inputs: Any, image_size: int) -> Any:
    """The image's colour statistics, standardised and projected (module docstring)."""
    import keras

    statistics = ColourStatistics(image_size, name="colour_statistics")(inputs)
    # The backbone's momentum: moving statistics that settle within a short fit's steps.
    standardised = keras.layers.BatchNormalization(momentum=0.9, name="colour_statistics_norm")(
        statistics
    )
    return keras.layers.Dense(STATISTICS_UNITS, activation="relu", name="colour_statistics_dense")(
        standardised
    )


def _local_batch(strategy: Any, batch: Any) -> Any:
    import tensorflow as tf

    return tf.nest.map_structure(
        lambda x: (
            strategy.experimental_local_results(x)[0]
            if isinstance(x, tf.distribute.DistributedValues)
            else x
        ),
        batch,
    )


def training_view(encoder: Any, tasks: dict[str, TaskSpec]) -> Any:
    """The same layers with only the outputs that have a loss: ``<task>_probs`` and the
    retrieval embedding when the encoder has one.

    On TensorFlow it is a :class:`TrainingModel` (workarounds for MultiWorkerMirroredStrategy);
    on JAX a plain ``keras.Model``: JAX's trainer calls ``train_step(state, data)``."""
    import keras

    outputs = {f"{name}_probs": encoder.output[f"{name}_probs"] for name in tasks}
    if RETRIEVAL_OUTPUT in encoder.output:
        outputs[RETRIEVAL_OUTPUT] = encoder.output[RETRIEVAL_OUTPUT]
    if keras.backend.backend() != "tensorflow":
        return keras.Model(encoder.input, outputs, name="trainer")
    return _tensorflow_training_model()(encoder.input, outputs, name="trainer")


def _tensorflow_training_model() -> Any:
    import keras

    class TrainingModel(keras.Model):
        """Works around a Keras 3 bug under MultiWorkerMirroredStrategy: before the first
        epoch ``fit`` all-reduces a whole (nested) input batch just to learn its shapes,
        which fails ("Attempt to convert a value (PerReplica...)"). This replica's own
        batch has the same shapes and needs no collective."""

        def _maybe_symbolic_build(self, iterator: Any = None, data_batch: Any = None) -> Any:
            if iterator is not None and self._distribute_strategy is not None:
                for _, _, it in iterator:
                    data_batch = _local_batch(self.distribute_strategy, next(it))
                    break
                iterator = None
            return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

        # Second bug, same strategy: the per-step logs (scalars) are reduced with
        # reduce("MEAN", axis=0), which needs a rank of at least 1.
        def train_step(self, data: Any) -> Any:
            return self._ranked(super().train_step(data))

        def test_step(self, data: Any) -> Any:
            return self._ranked(super().test_step(data))

        def _ranked(self, logs: Any) -> Any:
            import tensorflow as tf

            if not isinstance(self.distribute_strategy, tf.distribute.MultiWorkerMirroredStrategy):
                return logs
            return {key: tf.reshape(value, [1]) for key, value in logs.items()}

    return TrainingModel


def set_backbone_trainable(encoder: Any, trainable: bool) -> None:
    """Freeze or unfreeze the backbone(s). A frozen Keras BatchNormalization layer runs
    in inference mode (moving statistics), so fine-tuning starts from intact statistics."""
    for layer in backbone_layers(encoder):
        layer.trainable = trainable

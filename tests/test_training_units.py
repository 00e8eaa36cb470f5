"""Training building blocks on tiny inputs: loss, architecture, preprocessing, config."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from dataset.core.errors import UserError
from dataset.taxonomy.tasks import TaskSpec
from training.config import AugmentConfig, load_config

TASKS = {
    "colour": TaskSpec("colour", "multi_label", ["red", "green", "blue"]),
    "type": TaskSpec("type", "single_label", ["dresses", "jeans"]),
}


def test_weighted_bce_equals_the_formula_on_hand_computed_values() -> None:
    from training.losses import WeightedBinaryCrossentropy

    present, absent = [2.0, 0.75], [0.5, 3.0]
    y = np.array([[1.0, 0.0], [0.0, 1.0]])
    p = np.array([[0.8, 0.4], [0.3, 0.9]])
    # Sample 1: -2 ln .8 and -3 ln .6; sample 2: -.5 ln .7 and -.75 ln .9; mean of labels.
    s1 = (-2 * math.log(0.8) - 3 * math.log(0.6)) / 2
    s2 = (-0.5 * math.log(0.7) - 0.75 * math.log(0.9)) / 2
    loss = WeightedBinaryCrossentropy(present, absent)
    assert float(loss(y, p)) == pytest.approx((s1 + s2) / 2, rel=1e-5)
    # Weights of 1 give Keras' own binary cross-entropy.
    import keras

    plain = WeightedBinaryCrossentropy([1.0, 1.0], [1.0, 1.0])
    assert float(plain(y, p)) == pytest.approx(
        float(keras.losses.binary_crossentropy(y, p).numpy().mean()), rel=1e-5
    )
    assert WeightedBinaryCrossentropy.from_config(loss.get_config()).present == present


def test_architecture_layer_shapes_shared_and_separate() -> None:
    from training.model import backbone_layers, build_encoder

    encoder = build_encoder(TASKS, "tiny", 32, "none")
    out = encoder(np.zeros((2, 40, 50, 3), np.uint8))
    assert {k: tuple(v.shape) for k, v in out.items()} == {
        "colour_embedding": (2, 1000), "colour_probs": (2, 3),
        "type_embedding": (2, 1000), "type_probs": (2, 2),
    }  # fmt: skip
    assert {v.dtype.name for v in out.values()} == {"float32"}
    assert encoder.get_layer("colour_dense").kernel.shape == (64, 1000)
    assert encoder.get_layer("type_logits").kernel.shape == (1000, 2)
    assert encoder.get_layer("colour_dropout").rate == pytest.approx(0.2)
    assert np.allclose(np.asarray(out["type_probs"]).sum(axis=1), 1, atol=1e-5)  # softmax
    (shared,) = backbone_layers(encoder)
    assert len(shared._inbound_nodes) == 1  # called once: one forward pass for every head
    separate = build_encoder(TASKS, "tiny", 32, "none", separate=True)
    assert [b.name for b in backbone_layers(separate)] == ["colour_backbone", "type_backbone"]


def test_retrieval_head_is_unit_length_on_the_shared_or_its_own_backbone() -> None:
    from training.model import RETRIEVAL_OUTPUT, backbone_layers, build_encoder

    encoder = build_encoder(TASKS, "small", 32, "none", retrieval_dim=16)
    vectors = np.asarray(encoder(np.full((2, 32, 32, 3), 90, np.uint8))[RETRIEVAL_OUTPUT])
    assert vectors.shape == (2, 16) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    (shared,) = backbone_layers(encoder)
    assert shared.output.shape[-1] == 256  # the small backbone: four stages, 32 to 256 filters
    separate = build_encoder(TASKS, "small", 32, "none", separate=True, retrieval_dim=16)
    assert [b.name for b in backbone_layers(separate)][-1] == "retrieval_backbone"

    resnet = build_encoder({"type": TASKS["type"]}, "resnet50", 32, "none")
    (backbone,) = backbone_layers(resnet)
    assert backbone.output.shape[-1] == 2048
    assert resnet.get_layer("type_dense").kernel.shape == (2048, 1000)


def test_colour_statistics_describe_the_garment_not_the_white_background() -> None:
    from training.colour_statistics import FEATURES, HUE_SECTORS, ColourStatistics, to_cielab

    # Pure sRGB red is L 53.24, a 80.09, b 67.20 (CIELAB, D65).
    red_lab = np.asarray(to_cielab(np.array([255.0, 0.0, 0.0], "float32")))
    assert red_lab == pytest.approx([53.24, 80.09, 67.20], abs=0.05)
    layer = ColourStatistics(image_size=16)
    small, large = np.full((2, 16, 16, 3), 255, np.uint8), np.full((1, 16, 16, 3), 255, np.uint8)
    small[0, 6:10, 6:10] = (255, 0, 0)  # a small red garment, and a large one
    large[0, 2:14, 2:14] = (255, 0, 0)
    small[1, 6:10, 6:10] = (0, 0, 255)  # blue
    stats, big = np.asarray(layer(small)), np.asarray(layer(large))[0]
    assert stats.shape == (2, FEATURES)
    # The garment's own colour whatever its size: the white around it is left out.
    assert stats[0, :3] == pytest.approx(red_lab / 100, abs=0.02)
    assert big[:3] == pytest.approx(red_lab / 100, abs=0.01)
    assert (stats[0, -1], big[-1]) == pytest.approx((16 / 256, 144 / 256), abs=0.01)
    hues = stats[:, 6 : 6 + 3 * HUE_SECTORS].reshape(2, HUE_SECTORS, 3).sum(axis=2)
    assert hues.sum(axis=1) == pytest.approx([1, 1], abs=0.02)  # all chromatic
    red_sector, blue_sector = np.argmax(hues, axis=1)
    assert red_sector != blue_sector
    assert np.asarray(layer(np.full((1, 16, 16, 3), 255, np.uint8)))[0, -1] < 0.01


def test_colour_statistics_reach_only_the_heads_that_ask() -> None:
    from training.colour_statistics import FEATURES
    from training.model import STATISTICS_UNITS, build_encoder

    encoder = build_encoder(TASKS, "tiny", 32, "none", colour_statistics=("colour",))
    assert encoder.get_layer("colour_statistics_dense").kernel.shape == (FEATURES, STATISTICS_UNITS)
    assert encoder.get_layer("colour_dense").kernel.shape == (64 + STATISTICS_UNITS, 1000)
    assert encoder.get_layer("type_dense").kernel.shape == (64, 1000)
    assert encoder(np.zeros((1, 40, 50, 3), np.uint8))["colour_probs"].shape == (1, 3)
    searched = build_encoder(
        TASKS, "tiny", 32, "none", retrieval_dim=8, colour_statistics=("retrieval",)
    )
    assert searched.get_layer("retrieval_dense").kernel.shape == (64 + STATISTICS_UNITS, 8)
    assert searched.get_layer("colour_dense").kernel.shape == (64, 1000)
    with pytest.raises(ValueError, match="colour_statistics names no head"):
        build_encoder(TASKS, "tiny", 32, "none", colour_statistics=("pattern",))
    with pytest.raises(ValueError, match=r"no head of the encoder: \['retrieval'\]"):
        build_encoder(TASKS, "tiny", 32, "none", colour_statistics=("retrieval",))


def test_preprocessor_matches_resnet50_preprocess_input() -> None:
    import keras

    from training.preprocessor import ImagePreprocessor

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (2, 16, 16, 3)).astype(np.uint8)
    layer = ImagePreprocessor(16)
    expected = keras.applications.resnet50.preprocess_input(images.astype(np.float32))
    assert np.allclose(np.asarray(layer(images)), expected, atol=1e-4)
    assert ImagePreprocessor.from_config(layer.get_config()).image_size == 16


def test_freezing_puts_batchnorm_in_inference_mode() -> None:
    import keras

    from training.model import build_encoder, set_backbone_trainable

    encoder = build_encoder(TASKS, "tiny", 16, "none")
    set_backbone_trainable(encoder, False)
    bn = encoder.get_layer("backbone").get_layer("bn0")
    before = np.asarray(bn.moving_mean).copy()
    encoder(np.full((4, 16, 16, 3), 200.0, np.float32), training=True)
    assert np.allclose(np.asarray(bn.moving_mean), before)  # moving statistics untouched
    assert not any("backbone" in v.path for v in encoder.trainable_variables)
    set_backbone_trainable(encoder, True)
    encoder(np.full((4, 16, 16, 3), 200.0, np.float32), training=True)
    assert not np.allclose(np.asarray(bn.moving_mean), before)
    assert isinstance(bn, keras.layers.BatchNormalization)


def test_augmentation_probabilities() -> None:
    import tensorflow as tf

    from training.augment import Augmenter

    image = tf.constant(np.arange(8 * 8 * 3, dtype=np.float32).reshape(8, 8, 3))
    off = AugmentConfig(
        rotation_probability=0, translation_probability=0, flip_probability=0, jpeg_probability=0
    )
    assert np.array_equal(Augmenter(off)(image).numpy(), image.numpy())
    flip = off.model_copy(update={"flip_probability": 1.0})
    assert np.array_equal(Augmenter(flip)(image).numpy(), image.numpy()[:, ::-1])
    rotate = off.model_copy(update={"rotation_probability": 1.0})
    assert not np.array_equal(Augmenter(rotate)(image).numpy(), image.numpy())


def test_augmentation_stays_float32_under_mixed_precision() -> None:
    """A mixed policy (any GPU's, or ``mixed_precision: on``) makes Keras layers compute in
    bfloat16; inside a ``tf.data`` map their branch must match the other transforms'."""
    import tensorflow as tf

    from training.augment import Augmenter
    from training.runtime import global_dtype_policy

    every = AugmentConfig(rotation_probability=1, translation_probability=1)
    with global_dtype_policy("mixed_bfloat16"):
        augment = Augmenter(every)
    images = tf.data.Dataset.from_tensors(tf.fill((8, 8, 3), 7.0)).map(augment)
    assert next(iter(images)).dtype == tf.float32


def test_label_smoothing_softens_only_the_single_label_targets() -> None:
    from training.losses import build_losses

    weights = {"colour": ([1.0] * 3, [1.0] * 3)}
    plain, smoothed = build_losses(TASKS, weights), build_losses(TASKS, weights, None, 0.2)
    y, p = np.array([[1.0, 0.0]]), np.array([[0.8, 0.2]])
    # Targets (1, 0) become (0.9, 0.1) with 0.2 spread over the 2 classes.
    expected = -(0.9 * math.log(0.8) + 0.1 * math.log(0.2))
    assert float(smoothed["type_probs"](y, p)) == pytest.approx(expected, rel=1e-5)
    assert float(plain["type_probs"](y, p)) == pytest.approx(-math.log(0.8), rel=1e-5)
    colour = np.array([[1.0, 0.0, 1.0]]), np.array([[0.7, 0.2, 0.6]])
    assert float(smoothed["colour_probs"](*colour)) == float(plain["colour_probs"](*colour))


def test_shopper_augmentations_in_both_pipelines() -> None:
    """Shrink, colour cast and blur do the same on tf.data and on the NumPy pipeline: a
    dark 16 x 16 square on white, shrunk to half its side, covers a quarter of its area;
    the cast moves the square's channels within +-gain and leaves white white; the blur
    softens the edges and keeps the mean."""
    import tensorflow as tf

    from training.augment import Augmenter
    from training.augment_numpy import NumpyAugmenter

    image = np.full((32, 32, 3), 255, np.uint8)
    image[8:24, 8:24] = (40, 120, 200)
    off = AugmentConfig(
        rotation_probability=0, translation_probability=0, flip_probability=0, jpeg_probability=0
    )
    shrink = off.model_copy(update={"scale_probability": 1.0, "scale_range": (0.5, 0.5)})
    cast = off.model_copy(update={"cast_probability": 1.0, "cast_gain": 0.2})
    blur = off.model_copy(update={"blur_probability": 1.0, "blur_sigma": 4.0})
    rng = np.random.default_rng(0)

    def both(config: AugmentConfig, picture: np.ndarray = image) -> list[np.ndarray]:
        done = Augmenter(config)(tf.constant(picture, tf.float32)).numpy()
        return [done, NumpyAugmenter(config)(picture, rng).astype(np.float32)]

    for shrunk in both(shrink):
        assert (shrunk[..., 0] < 128).sum() == pytest.approx(64, abs=12)
    for casted in both(cast):
        assert np.all(casted[0, 0] == 255)  # the background
        gains = casted[16, 16] / np.array([40, 120, 200])
        assert np.all(np.abs(gains - 1) <= 0.2 + 0.02) and np.ptp(gains) > 0
    for blurred in both(blur):
        assert blurred[7, 16, 0] < 245 and blurred[8, 16, 0] > 45  # either side of the edge
        assert blurred.mean() == pytest.approx(image.mean(), rel=0.03)
    # A 16 x 16 block (half the side) behind an 8 x 8 square: the square unchanged, the
    # block one colour, all of it but what the square hides (at most 64 pixels) painted.
    small = np.full((32, 32, 3), 255, np.uint8)
    small[12:20, 12:20] = (40, 120, 200)
    left = off.model_copy(update={"leftover_probability": 1.0, "leftover_size": (0.5, 0.5)})
    for painted in both(left, small):
        assert np.array_equal(painted[12:20, 12:20], small[12:20, 12:20].astype(np.float32))
        changed = np.any(painted != small, axis=-1)
        assert 192 <= changed.sum() <= 256 and len(np.unique(painted[changed], axis=0)) == 1
    with pytest.raises(ValueError, match="scale_range"):
        AugmentConfig(scale_range=(0.8, 0.5))
    with pytest.raises(ValueError, match="leftover_size"):
        AugmentConfig(leftover_size=(0, 0.5))


def test_schedule_decays_from_initial_to_final() -> None:
    from training.optim import DecaySchedule

    for kind in ("cosine", "exponential"):
        schedule = DecaySchedule(1e-4, 1e-7, 100, kind)
        values = [float(schedule(step)) for step in (0, 50, 100)]
        assert values[0] == pytest.approx(1e-4) and values[2] == pytest.approx(1e-7, rel=1e-3)
        assert values[0] > values[1] > values[2]
    # The second phase's optimizer starts at step 0 but continues the curve.
    assert float(DecaySchedule(1e-4, 1e-7, 100, "cosine", offset=50)(0)) == pytest.approx(
        float(DecaySchedule(1e-4, 1e-7, 100, "cosine")(50))
    )


def test_warmup_then_decay_and_weight_decay_of_kernels_only() -> None:
    import keras

    from training.optim import DecaySchedule, build_optimizer

    warm = DecaySchedule(1e-3, 1e-6, 100, "cosine", warmup_steps=20)
    rising = [float(warm(step)) for step in (0, 9, 19)]
    assert rising == pytest.approx([5e-5, 5e-4, 1e-3])
    # After the warmup the whole cosine runs over the 80 steps left, to the final rate.
    assert float(warm(60)) == pytest.approx((1e-3 + 1e-6) / 2, rel=1e-4)
    assert float(warm(100)) == pytest.approx(1e-6, rel=1e-3)
    resumed = DecaySchedule.from_config(warm.get_config())
    assert float(resumed(9)) == pytest.approx(rising[1])

    config = load_config(None, {"epochs": 4, "warmup_epochs": 1, "weight_decay": 0.5,
                                "learning_rate": 0.1, "clipnorm": None})  # fmt: skip
    optimizer = build_optimizer(config, steps_per_epoch=10, start_epoch=2)
    assert isinstance(optimizer, keras.optimizers.AdamW)
    layer = keras.layers.Dense(2, bias_initializer="ones")
    layer.build((None, 3))
    kernel = np.array(layer.kernel)
    # Global step 20 of 40: past the 10 warmup steps, a third into the cosine's 30.
    rate = float(optimizer.learning_rate)
    assert rate == pytest.approx(1e-4 + (0.1 - 1e-4) * 0.5 * (1 + math.cos(math.pi / 3)))
    optimizer.apply_gradients([(np.zeros((3, 2), "float32"), layer.kernel),
                               (np.zeros(2, "float32"), layer.bias)])  # fmt: skip
    # Zero gradients: the kernel only shrinks, by decay times the step's rate; the bias stays.
    np.testing.assert_allclose(np.array(layer.kernel), kernel * (1 - 0.5 * rate), rtol=1e-5)
    np.testing.assert_allclose(np.array(layer.bias), 1.0)
    assert type(build_optimizer(load_config(None, {}), 10, 0)) is keras.optimizers.Adam
    with pytest.raises(UserError, match="warmup_epochs"):
        load_config(None, {"epochs": 2, "warmup_epochs": 2})


def test_config_file_flags_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "train.yaml"
    path.write_text("backbone: tiny\nepochs: 3\naugment:\n  flip_probability: 0.2\n")
    config = load_config(path, {"epochs": 5, "batch_size": None})
    assert (config.backbone, config.epochs, config.batch_size) == ("tiny", 5, 64)
    assert config.augment.flip_probability == 0.2
    assert config.resolved()["augment"]["rotation_degrees"] == 20.0
    path.write_text("backbone: tiny\nepochz: 3\n")
    with pytest.raises(UserError, match=r"train.yaml:2: epochz: .*Received: 3"):
        load_config(path)
    with pytest.raises(UserError, match="freeze_epochs"):
        load_config(None, {"epochs": 1, "freeze_epochs": 2})


def test_unknown_backbone_and_wrong_weights_file(tmp_path: Path) -> None:
    import keras

    from training.backbone import build_backbone

    with pytest.raises(UserError, match=r"unknown backbone.*Received: backbone='vgg99'"):
        build_backbone("vgg99", 32, "none")
    with pytest.raises(UserError, match="weights file not found"):
        build_backbone("tiny", 32, str(tmp_path / "missing.weights.h5"))
    other = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3)])
    wrong = tmp_path / "other.weights.h5"
    other.save_weights(wrong)
    with pytest.raises(UserError, match=r"does not fit backbone 'tiny'"):
        build_backbone("tiny", 32, str(wrong))
    good = tmp_path / "tiny.weights.h5"
    source = build_backbone("tiny", 32, "none")
    source.save_weights(good)
    loaded = build_backbone("tiny", 32, str(good))
    assert all(
        np.array_equal(a, b)
        for a, b in zip(loaded.get_weights(), source.get_weights(), strict=True)
    )


def test_a_weights_file_cannot_run_code(tmp_path: Path) -> None:
    import keras

    from training.backbone import build_backbone

    marker = tmp_path / "code-ran"
    # A crafted .keras file: a Lambda layer whose bytecode touches a file when it runs.
    touch = eval(f"lambda x: (__import__('pathlib').Path({str(marker)!r}).touch(), x)[1]")
    crafted = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Lambda(touch)])
    path = tmp_path / "crafted.keras"
    crafted.save(path)
    marker.unlink()
    with pytest.raises(UserError, match=r"crafted.keras does not fit backbone 'tiny'"):
        build_backbone("tiny", 32, str(path))
    assert not marker.exists()


def test_no_pretrained_weights_means_no_frozen_epochs() -> None:
    from training.trainer import _phases

    config = load_config(None, {"epochs": 1, "weights": "none"})  # freeze_epochs left at 2
    assert _phases(config) == [("finetune", 0, 1)]
    with pytest.raises(UserError, match=r"freeze_epochs \(2\) is more than epochs \(1\)"):
        load_config(None, {"epochs": 1, "weights": "imagenet"})


def test_nan_guard_stops_with_the_place() -> None:
    import keras

    from training.callbacks import NanGuard

    guard = NanGuard()
    guard.set_model(keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)]))
    guard.on_epoch_begin(2)
    guard.on_train_batch_end(0, {"loss": 1.0})
    assert guard.diverged is None
    guard.on_train_batch_end(6, {"loss": float("nan")})
    assert guard.diverged == "the loss became nan at epoch 3, batch 7"
    assert guard.model.stop_training

"""Colour ceiling: how far a trivial classifier on the garment pixels' colour gets on the
demo's colour labels, beside the encoder's figure on the same splits.

For each image of a dataset manifest, the pixels inside the segment stage's mask (the
whole image when it has none) are converted to CIELAB and summarised (mean, standard
deviation and the 10/25/50/75/90 % quantiles of each channel, plus the share of pixels
in each of 12 hue sectors of the chromatic ones). One classifier per colour (a logistic
regression, then gradient-boosted trees) is fitted on the train split, its threshold
chosen on val (maximising F1, as ``fit`` does for the encoder), macro-F1 measured on
test. What they reach, the labels allow: a CNN below it is held back by its recipe.
Per colour (trees): test support, F1, and the share of test images of that colour
labelled with a second colour. ``--encoder MODEL`` adds the encoder's colour
probabilities of each cut-out to the statistics: what the classifiers reach with both.

  python bench/colour_ceiling.py DATASET [DATASET...] [--encoder MODEL]
      (datasets/<name>/<version> folders; MODEL a run folder of ``s2s-train fit``)
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.benchkit import header, table  # noqa: E402

QUANTILES = (10, 25, 50, 75, 90)
HUE_SECTORS = 12
CHROMA_MIN = 12.0  # below this a CIELAB pixel reads as grey/white/black: no hue
KINDS = {"linear": "logistic regression", "trees": "gradient-boosted trees"}


def colour_features(image_rgb: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """CIELAB statistics and a hue histogram of the pixels inside ``mask``."""
    import cv2

    lab = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    # OpenCV's 8-bit LAB: L in 0..255 for 0..100, a and b offset by 128.
    lab[..., 0] *= 100.0 / 255.0
    lab[..., 1:] -= 128.0
    pixels = lab.reshape(-1, 3)
    if mask is not None:
        inside = mask.reshape(-1) > 0
        if inside.sum() >= 16:  # an empty or tiny mask: the whole image
            pixels = pixels[inside]
    stats = [pixels.mean(0), pixels.std(0), *np.percentile(pixels, QUANTILES, axis=0)]
    chroma = np.hypot(pixels[:, 1], pixels[:, 2])
    hue = np.arctan2(pixels[:, 2], pixels[:, 1])[chroma >= CHROMA_MIN]
    sectors = np.floor((hue + np.pi) / (2 * np.pi) * HUE_SECTORS).astype(int) % HUE_SECTORS
    histogram = np.bincount(sectors, minlength=HUE_SECTORS) / max(len(pixels), 1)
    return np.concatenate([np.concatenate(stats), histogram, [np.mean(chroma >= CHROMA_MIN)]])


def encoder_scores(model: str, images_rgb: list[np.ndarray]) -> np.ndarray:
    """The colour probabilities of the encoder at ``model`` for each image."""
    import cv2

    from training.encoder_io import load_encoder

    encoder = load_encoder(model)
    side = (encoder.image_size, encoder.image_size)
    scores = []
    for start in range(0, len(images_rgb), 64):
        batch = [cv2.resize(image, side, interpolation=cv2.INTER_AREA)
                 for image in images_rgb[start : start + 64]]  # fmt: skip
        outputs = encoder.model(np.stack(batch).astype(np.float32), training=False)
        scores.append(np.asarray(outputs["colour_probs"]))
    return np.concatenate(scores)


def load_features(
    dataset: Path, model: str | None
) -> tuple[np.ndarray, list[list[str]], np.ndarray, np.ndarray]:
    """Features (beside the encoder's colour probabilities with ``model``), colour
    labels, split and domain of every labelled row of the manifest."""
    import cv2
    import pandas as pd

    store = dataset.parents[2]  # manifest keys are relative to the store root
    frame = pd.read_parquet(dataset / "manifest.parquet")
    frame = frame[frame["colour"].map(len) > 0].reset_index(drop=True)
    features, images = [], []
    for row in frame.itertuples():
        path = row.segmented_path if isinstance(row.segmented_path, str) else row.image_path
        bgr = cv2.imread(str(store / path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise SystemExit(f"{store / path}: not a readable image")
        mask = None
        if isinstance(row.mask_path, str):
            mask = cv2.imread(str(store / row.mask_path), cv2.IMREAD_GRAYSCALE)
            if mask is not None and mask.shape != bgr.shape[:2]:
                mask = cv2.resize(mask, bgr.shape[1::-1], interpolation=cv2.INTER_NEAREST)
        images.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        features.append(colour_features(images[-1], mask))
    stacked = np.stack(features)
    if model is not None:
        stacked = np.hstack([stacked, encoder_scores(model, images)])
    labels = [list(v) for v in frame["colour"]]
    return stacked, labels, frame["split"].to_numpy(), frame["domain"].to_numpy()


def best_threshold(scores: np.ndarray, truth: np.ndarray) -> float:
    """The threshold on ``scores`` with the best F1 on ``truth`` (0.5 without positives)."""
    from sklearn.metrics import f1_score

    if truth.sum() == 0:
        return 0.5
    candidates = np.unique(scores)
    f1s = [f1_score(truth, scores >= t, zero_division=0) for t in candidates]
    return float(candidates[int(np.argmax(f1s))])


def classifier(kind: str) -> Any:
    """A fresh binary classifier of ``kind`` (classes weighted, as the encoder's loss is)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if kind == "linear":
        return make_pipeline(
            StandardScaler(), LogisticRegression(max_iter=2000, class_weight="balanced")
        )
    return HistGradientBoostingClassifier(
        max_iter=200, learning_rate=0.05, class_weight="balanced", random_state=0
    )


Ceiling = tuple[float, dict[str, tuple[int, float, float]], dict[str, float]]


def ceiling(features: np.ndarray, labels: list[list[str]], split: np.ndarray,
            domain: np.ndarray, kind: str) -> Ceiling:  # fmt: skip
    """Test macro-F1; per colour (support, F1, multi-colour share); macro-F1 per domain."""
    from sklearn.metrics import f1_score
    from sklearn.preprocessing import MultiLabelBinarizer

    binarizer = MultiLabelBinarizer()
    truth = binarizer.fit_transform(labels)
    predicted = np.zeros_like(truth)
    for column in range(truth.shape[1]):
        model = classifier(kind)
        model.fit(features[split == "train"], truth[split == "train", column])
        scores = model.predict_proba(features)[:, 1]
        threshold = best_threshold(scores[split == "val"], truth[split == "val", column])
        predicted[:, column] = scores >= threshold
    test = split == "test"
    multi = truth.sum(1) > 1
    per_colour = {
        name: (
            int(truth[test, i].sum()),
            float(f1_score(truth[test, i], predicted[test, i], zero_division=0)),
            float(multi[test & (truth[:, i] == 1)].mean()) if truth[test, i].any() else 0.0,
        )
        for i, name in enumerate(binarizer.classes_)
    }
    macro = float(np.mean([f1 for _, f1, _ in per_colour.values()]))
    by_domain = {
        kind: float(
            f1_score(
                truth[test & (domain == kind)],
                predicted[test & (domain == kind)],
                average="macro",
                zero_division=0,
            )
        )  # fmt: skip
        for kind in ("shop", "user")
    }
    return macro, per_colour, by_domain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="+", type=Path)
    parser.add_argument("--encoder", metavar="MODEL",
                        help="add this encoder's colour probabilities to the statistics")  # fmt: skip
    args = parser.parse_args()
    results: dict[str, dict[str, Ceiling]] = {}
    for dataset in args.datasets:
        data = load_features(dataset, args.encoder)
        results[str(dataset)] = {kind: ceiling(*data, kind) for kind in KINDS}
    load = os.getloadavg()
    header(
        "Colour ceiling: classifiers on the garment's CIELAB statistics",
        "one classifier per colour, threshold chosen on val; features: the statistics"
        + (f" and the colour probabilities of {args.encoder}" if args.encoder else "")
        + "; load average at the end "
        f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f}",
    )
    rows = [
        [name, KINDS[kind], f"{macro:.3f}", f"{domains['shop']:.3f}", f"{domains['user']:.3f}"]
        for name, by_kind in results.items()
        for kind, (macro, _, domains) in by_kind.items()
    ]
    table(["dataset (test split)", "classifier", "macro-F1", "shop photos", "user photos"],
          rows, "llrrr")  # fmt: skip
    trees = {name: by_kind["trees"] for name, by_kind in results.items()}
    colours = sorted(next(iter(trees.values()))[1])
    rows = [
        [colour, *(f"{r[1][colour][1]:.2f} ({r[1][colour][0]}, {100 * r[1][colour][2]:.0f}%)"
                   for r in trees.values())]
        for colour in colours
    ]  # fmt: skip
    print("Per colour, gradient-boosted trees: F1 (test images of that colour, share of them "
          "with a second colour).\n")  # fmt: skip
    table(["colour", *trees], rows, "l" + "r" * len(trees))


if __name__ == "__main__":
    main()

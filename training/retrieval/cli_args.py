"""Arguments shared by the search commands (kept free of heavy imports for ``--help``)."""

from __future__ import annotations

import argparse

from dataset.core.errors import UserError


def add_combination_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--embedding",
        choices=["auto", "retrieval", "attributes"],
        default="auto",
        help="search vector: the pair-trained retrieval head, or the concatenated task "
        "encodings (the baseline); auto (default): the head when the encoder has one",
    )
    parser.add_argument(
        "--weights",
        metavar="TASK=W,...",
        help="per-task weights of the combined encoding, e.g. colour=1,type=2 "
        "(default: every task 1; 0 drops a task)",
    )
    parser.add_argument(
        "--block-norm",
        action="store_true",
        help="L2-normalise each task encoding before weighting (default: raw concatenation)",
    )


def add_encoding_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--batch-size", type=int, default=32, help="images per batch (default 32)")
    parser.add_argument(
        "--views",
        type=int,
        default=2,
        help="catalogue views per product (default 2: the front views; 0 = all)",
    )
    parser.add_argument(
        "--store",
        metavar="URI",
        help="store root the manifest's image_path keys are relative to "
        "(default: the part of the dataset URI before datasets/)",
    )


def parse_ks(text: str) -> list[int]:
    try:
        ks = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise UserError(f"--top-k: expected integers like 1,5,10. Received: {text!r}") from None
    if not ks or ks[0] < 1:
        raise UserError(f"--top-k: values must be >= 1. Received: {text!r}")
    return ks

"""Export a trained encoder: <model>/export/{encoder.keras, saved_model/, encoder.json}.

The exported model takes raw RGB images (batch, H, W, 3), 0..255, and returns per
task <task>_embedding (the 1000-d encoding) and <task>_probs. A smoke check reloads
both formats and compares them with the trained model before anything is published.

Example:
  s2s-train export --model data/models/encoder/demo
"""

from __future__ import annotations

import argparse

from dataset.core import clikit

NAME = "export"
HELP = "export the encoder as .keras + SavedModel + encoder.json, smoke-checked"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, metavar="MODEL_URI", help="run folder of fit")
    clikit.add_format_argument(parser)


def run(args: argparse.Namespace) -> int:
    from training.exporter import export

    result = export(args.model)
    text = f"exported {result['encoder_id']} to {result['export']}"
    clikit.emit(result, args.format, text)
    return 0

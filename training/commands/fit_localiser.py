"""Train the garment localiser that gives the segmentation stage its box on shoppers' photos.

Studio shots (a folder of catalogue images on a plain backdrop) are cut on their
backdrop and pasted onto generated scenes and, with --scenes, onto the border regions
of marketplace photos; a small network learns the garment's coarse mask. Writes
<out>/localiser.keras and <out>/localiser.json (settings, inputs, timings, validation
IoU). A rerun with the same settings and folders reuses the model (--overwrite retrains).
Point the build at it with `segment: {localiser: <store key of localiser.keras>}`.

Example:
  s2s-train fit-localiser --cutouts data/catalogue/demo/images \\
      --scenes data/raw/demo/images/full --out data/models/localiser/demo
"""

from __future__ import annotations

import argparse

from dataset.core import clikit
from dataset.core.errors import UserError

NAME = "fit-localiser"
HELP = "train the garment localiser (box of the garment on shoppers' photos)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from training.localiser.config import LocaliserConfig

    parser.add_argument("--cutouts", required=True, metavar="URI",
                        help="folder of studio shots on a plain backdrop (catalogue images)")  # fmt: skip
    parser.add_argument("--scenes", metavar="URI",
                        help="folder of marketplace photos whose borders become backgrounds")  # fmt: skip
    parser.add_argument("--out", required=True, metavar="URI", help="folder of the model")
    for name, field in LocaliserConfig.model_fields.items():
        kind: type = float if field.annotation is float else int
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, type=kind,
                            help=f"default {field.default}")  # fmt: skip
    parser.add_argument("--overwrite", action="store_true",
                        help="retrain even when --out holds a model of the same settings")  # fmt: skip
    clikit.add_format_argument(parser)


def run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from dataset.core.store import open_store
    from training.localiser.config import LocaliserConfig
    from training.localiser.fit import MODEL_FILE, fit_localiser

    given = {
        k: getattr(args, k) for k in LocaliserConfig.model_fields if getattr(args, k) is not None
    }
    try:
        config = LocaliserConfig(**given)
    except ValidationError as exc:
        error = exc.errors()[0]
        flag = "--" + str(error["loc"][0]).replace("_", "-")
        raise UserError(f"{flag}: {error['msg']}. Received: {error.get('input')!r}") from None
    out = open_store(args.out)
    summary = fit_localiser(
        config, open_store(args.cutouts), out,
        scenes=open_store(args.scenes) if args.scenes else None, overwrite=args.overwrite,
    )  # fmt: skip
    seconds = summary["seconds"]
    verb = (
        "reused"
        if summary["reused"]
        else (
            f"trained (data {seconds['data']:.0f} s, fit {seconds['fit']:.0f} s, "
            f"{seconds['cpu']:.0f} CPU s)"
        )
    )
    text = (
        f"localiser {verb}: {out.uri_for(MODEL_FILE)} (validation mask IoU "
        f"{summary['val']['mask_iou']:.3f}, box IoU {summary['val']['box_iou']:.3f})"
    )
    clikit.emit(summary, args.format, text)
    return 0

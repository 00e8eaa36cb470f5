"""The command-line conventions shared by ``s2s-crawl``, ``s2s-dataset`` and ``s2s-train``.

Each package has a ``commands/`` folder with one module per sub-command. A command
module defines ``NAME`` (the sub-command), ``HELP`` (one line), ``add_arguments(parser)``
and ``run(args) -> int``. The package's ``cli.py`` finds them with
:func:`build_parser`, so adding a command is adding a file.

Errors the user can fix raise :class:`~dataset.core.errors.UserError`: :func:`main` prints
``<prog>: error: <reason>`` on one line and exits 2. Trouble that may pass (the store
unreachable) raises :class:`~dataset.core.errors.TransientError`: one line, exit 75.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import pkgutil
import sys
from collections.abc import Sequence
from typing import Any

from dataset.core.errors import EXIT_BAD_INPUT, EXIT_TEMPFAIL, TransientError, UserError

logger = logging.getLogger(__name__)


def build_parser(prog: str, description: str, commands_package: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    package = importlib.import_module(commands_package)
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands_package}.{info.name}")
        command = sub.add_parser(
            module.NAME,
            help=module.HELP,
            description=module.__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(command)
        command.set_defaults(_run=module.run)
    return parser


def main(prog: str, description: str, commands_package: str, argv: Sequence[str] | None) -> int:
    parser = build_parser(prog, description, commands_package)
    args = parser.parse_args(argv)
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)]
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args._run(args) or 0)
    except UserError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except TransientError as exc:
        print(f"{prog}: error (transient, retry later): {exc}", file=sys.stderr)
        return EXIT_TEMPFAIL
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


def add_store_argument(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    parser.add_argument(
        "--store",
        required=required,
        metavar="URI",
        help="local folder or s3://bucket/prefix (endpoint from AWS_ENDPOINT_URL)",
    )


def add_format_argument(
    parser: argparse.ArgumentParser, choices: Sequence[str] = ("text", "json")
) -> None:
    parser.add_argument(
        "--format",
        choices=list(choices),
        default=choices[0],
        help=f"output format (default: {choices[0]})",
    )


def emit(obj: Any, fmt: str, text: str) -> None:
    """Print ``obj`` as JSON when ``--format json`` was asked for, else the human ``text``."""
    if fmt == "json":
        print(json.dumps(obj, indent=2, sort_keys=True, default=str))
    else:
        print(text)

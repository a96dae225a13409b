"""The ``nova-hookspec`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from nova_hookspec import _demo


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nova-hookspec",
        description="Typed pluggy hooks for OpenStack Nova's instance lifecycle.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    commands.add_parser(
        "demo",
        help="run a simulated instance lifecycle through the four hook points",
        description=(
            "Create, build, refresh the network info of and delete one simulated "
            "instance, with built-in demo plugins and every installed plugin, "
            "printing which plugin runs in which phase and order."
        ),
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = _parser().parse_args(argv)
    if args.command == "demo":
        return _demo.run(sys.stdout)
    raise AssertionError(args.command)  # pragma: no cover - argparse refuses others


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

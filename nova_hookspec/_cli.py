"""The ``nova-hookspec`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from nova_hookspec import _demo, _launcher


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
    run = commands.add_parser(
        "run",
        help="attach the hook points and run a Nova program in this process",
        description=(
            "Attach the hook points to Nova, then run PROGRAM (a console script such as "
            "nova-compute, or -m MODULE) in the same process with its arguments; its "
            "exit status is this command's."
        ),
        usage="nova-hookspec run [-m MODULE | PROGRAM] [--] [ARGS ...]",
    )
    run.add_argument("-m", dest="module", help="run a module, as python -m does")
    run.add_argument("program", nargs=argparse.REMAINDER, help="the program and its arguments")
    return parser


def _run(module: str | None, program: list[str]) -> object:
    if program and program[0] == "--":
        program = program[1:]
    if module is not None:
        _launcher.run_module(module, program)
        return 0
    if not program:
        raise SystemExit("nova-hookspec run: name a program to run (or -m MODULE)")
    try:
        return _launcher.run_program(program[0], program[1:])
    except _launcher.LaunchError as exc:
        raise SystemExit(f"nova-hookspec run: {exc}") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = _parser().parse_args(argv)
    if args.command == "demo":
        return _demo.run(sys.stdout)
    if args.command == "run":
        raise SystemExit(_run(args.module, args.program))
    raise AssertionError(args.command)  # pragma: no cover - argparse refuses others


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""The ``nova-hookspec`` command."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from nova_hookspec import __version__
from nova_hookspec._cli import deferred as _deferred
from nova_hookspec._cli import demo as _demo
from nova_hookspec._cli import listing as _listing
from nova_hookspec._cli import output as _output
from nova_hookspec._cli import reconcile as _reconcile
from nova_hookspec._cli import scaffold as _scaffold
from nova_hookspec._cli import smoke as _smoke
from nova_hookspec._nova import launcher as _launcher
from nova_hookspec._plugins import config as _config
from nova_hookspec._plugins.process import get_plugin_manager


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nova-hookspec",
        description="Typed pluggy hooks for OpenStack Nova's instance lifecycle.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    listing = commands.add_parser(
        "list",
        help="show, for each hook point and phase, the plugins in the order they run",
        description=(
            "Discover the installed plugins and print, for each hook point and phase, "
            "the plugins in the order this process would run them, with kind, "
            "entry point, distribution and tryfirst/trylast. Exit status 1 when a "
            "plugin could not be loaded (listed on standard error; 'check' says more)."
        ),
    )
    listing.add_argument("--json", action="store_true",
                         help="print JSON for machines (schema nova-hookspec/list/1)")
    _debug_argument(listing)
    _config_arguments(listing)
    check = commands.add_parser(
        "check",
        help="load every installed plugin and report every problem",
        description=(
            "Load every installed plugin (honouring the operator controls) and report "
            "import and constructor errors, entry points that implement no hook, "
            "hookimpls named for no hook, unknown arguments, wrappers that are no "
            "generators and observers that are, with the nearest valid names; and "
            "names in the operator controls that match no installed plugin. Exit "
            "status 1 if any of these is found (or the deferred jobs' journal could not "
            "be created or used, or jobs are dead), 0 otherwise: a journal not created "
            "yet is no problem."
        ),
    )
    _config_arguments(check)
    _debug_argument(check)
    check.add_argument("--json", action="store_true",
                       help="print JSON for machines (schema nova-hookspec/check/1)")
    check.add_argument(
        "--smoke", action="store_true",
        help=(
            "also call every plugin's hooks once, with stand-in Nova objects (a request "
            "context, a flavor, an instance, network info, a create result) and the "
            "arguments Nova passes, without Nova installed and without running Nova's "
            "code, and report each call that raises (FatalHookException is shown as "
            "FATAL, not counted as a failure); exit status 1 if any call failed. The "
            "plugins' own code runs, side effects included (an inventory plugin registers "
            "a stand-in instance): run it where that is harmless"
        ),
    )
    demo = commands.add_parser(
        "demo",
        help="run a simulated instance lifecycle through the four hook points",
        description=(
            "Create, build, refresh the network info of and delete one simulated "
            "instance, with built-in demo plugins and every installed plugin, "
            "printing which plugin runs in which phase and order."
        ),
    )
    demo.add_argument("--trace", action="store_true",
                      help="also print each hook call with per-plugin durations")
    _config_arguments(demo)
    new = commands.add_parser(
        "new",
        help="write a plugin distribution that passes its own tests",
        description=(
            "Write NAME/ (in DIRECTORY): a pyproject.toml with the entry point, a typed "
            "plugin with one observer and one wrapper (or, with --legacy, a classic "
            "nova.hooks pre/post class), a test written against nova_hookspec's kit and a "
            "README. Then, from DIRECTORY, "
            f"{_scaffold.INSTALL.format(dist='NAME')} passes as written."
        ),
    )
    new.add_argument("name", help="the plugin's name, e.g. acme-audit")
    new.add_argument("--legacy", action="store_true",
                     help="a classic nova.hooks pre/post class instead of a typed plugin")
    new.add_argument("--directory", default=".", metavar="DIRECTORY",
                     help="where to write it (default: here)")
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
    _deferred.add_parsers(commands, _config_arguments, _config_arguments_after)
    _reconcile.add_parser(commands, _config_arguments)
    return parser


_CONFIG_FILE_HELP = ("read this Nova configuration file, as the service does: the "
                     "[nova_hookspec] group and [DEFAULT] state_path and host (repeatable; "
                     "needs oslo.config)")
_CONFIG_DIR_HELP = "read every *.conf file of this directory too, as the service does"


def _config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config-file", action="append", default=[], metavar="FILE",
                        help=_CONFIG_FILE_HELP)
    parser.add_argument("--config-dir", action="append", default=[], metavar="DIR",
                        help=_CONFIG_DIR_HELP)


def _config_arguments_after(parser: argparse.ArgumentParser) -> None:
    """The same options after a nested command's name (``deferred status
    --config-file F``), added to those given before it (``deferred --config-file F
    status``) by :func:`_merge_options`."""
    parser.add_argument("--config-file", action="append", dest="config_file_after",
                        default=argparse.SUPPRESS, metavar="FILE", help=_CONFIG_FILE_HELP)
    parser.add_argument("--config-dir", action="append", dest="config_dir_after",
                        default=argparse.SUPPRESS, metavar="DIR", help=_CONFIG_DIR_HELP)


def _merge_options(args: argparse.Namespace) -> None:
    for name in ("config_file", "config_dir"):
        after = getattr(args, f"{name}_after", None)
        if after:
            setattr(args, name, [*getattr(args, name, []), *after])


def _debug_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--debug", action="store_true",
                        help="also show debug log lines, and the traceback of an exception "
                             "a plugin's own code raised")


def _run(module: str | None, program: list[str]) -> object:
    if program and program[0] == "--":
        program = program[1:]
    if module is not None:
        try:
            _launcher.run_module(module, program)
        except _launcher.LaunchError as exc:
            raise SystemExit(f"nova-hookspec run: {exc}") from None
        return 0
    if not program:
        raise SystemExit("nova-hookspec run: name a program to run (or -m MODULE)")
    try:
        return _launcher.run_program(program[0], program[1:])
    except _launcher.LaunchError as exc:
        raise SystemExit(f"nova-hookspec run: {exc}") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    try:
        return _main(argv)
    except BrokenPipeError:  # output piped into head & co.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


@contextlib.contextmanager
def _plugin_output_to_stderr() -> Iterator[None]:
    """While plugins load and run, what they print goes to standard error.

    ``list`` and ``check`` write their report (JSON with ``--json``) on
    standard output: a plugin that prints at import, in a constructor or when
    called must not land inside it. Both Python's ``sys.stdout`` and file
    descriptor 1 (C extensions, ``os.write``) are pointed at standard error.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _main(argv: Sequence[str] | None) -> int:
    args = _parser().parse_args(argv)
    _merge_options(args)
    if getattr(args, "config_file", None) or getattr(args, "config_dir", None):
        try:
            _config.use_files(args.config_file, args.config_dir)
        except (ImportError, _config.ConfigError) as exc:
            raise SystemExit(f"nova-hookspec {args.command}: {exc}") from None
    if args.command == "demo":
        with _smoke.scratch_journal():  # never the real one: the demo's jobs are for show
            return _demo.run(sys.stdout, trace=args.trace)
    handlers = {"worker": _deferred.run_worker, "deferred": _deferred.run_deferred,
                "reconcile": _reconcile.run_reconcile}
    if args.command in handlers:
        return handlers[args.command](args)
    if args.command == "list":
        return _list(args)
    if args.command == "check":
        return _check(args)
    if args.command == "run":
        raise SystemExit(_run(args.module, args.program))
    if args.command == "new":
        try:
            root = _scaffold.write(args.name, Path(args.directory), legacy=args.legacy)
        except _scaffold.ScaffoldError as exc:
            raise SystemExit(f"nova-hookspec new: {exc}") from None
        how = _scaffold.install_command(root.name, _scaffold.installed_from())
        print(f"wrote {root}; from {root.parent}: {how}")
        return 0
    raise AssertionError(args.command)  # pragma: no cover - argparse refuses others


def _list(args: argparse.Namespace) -> int:
    with _output.held_logs(args.debug) as logs, _plugin_output_to_stderr():
        pm = get_plugin_manager()
        text = (_output.dumps(_listing.list_document(pm)) if args.json
                else _listing.format_listing(pm))
    print(text)
    problems = pm.discovery.problems if pm.discovery else []
    logs.show([problem.message for problem in problems])
    for problem in problems:
        print(f"broken plugin {problem.info.name}: {problem.message}", file=sys.stderr)
    return 1 if problems else 0


def _check(args: argparse.Namespace) -> int:
    with _output.held_logs(args.debug) as logs, _plugin_output_to_stderr():
        document = _listing.check_document(get_plugin_manager(), smoke=args.smoke)
    print(_output.dumps(document) if args.json else _listing.format_check(document))
    # Beside a human report, a log line it already says is not said again; beside
    # JSON (for machines), standard error keeps them for the human watching.
    logs.show([] if args.json else [*(p["message"] for p in document["plugins"]
                                      if p["message"]), *document["warnings"]])
    return int(document["status"])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

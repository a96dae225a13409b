"""``nova-hookspec run``: attach the hook points, then run a Nova program in this process.

In the manner of ``opentelemetry-instrument``: the program is a console
script (``nova-compute``, looked up in the ``console_scripts`` entry points,
or the path of its launcher script) or a module (``-m nova.cmd.compute``).
It gets its own arguments in ``sys.argv`` and its exit status passes through.

The program's module is imported *before* the hook points are attached, so
Nova's own start-up (eventlet or threading monkey patching in ``nova.cmd``)
happens first, as it would without the launcher.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import runpy
import sys
from collections.abc import Callable, Sequence

from nova_hookspec._nova.attach import attach_nova
from nova_hookspec._seams import metadata as _compat


class LaunchError(RuntimeError):
    """The program to run cannot be found."""


def _console_script(command: str) -> Callable[[], object]:
    name = os.path.basename(command)
    ep = _compat.console_script(name)
    if ep is not None:
        loaded: Callable[[], object] = ep.load()
        return loaded
    raise LaunchError(f"no console script named {name!r} is installed")


def run_program(command: str, args: Sequence[str]) -> object:
    """Run console script ``command`` with ``args``; return what its function returns."""
    main = _console_script(command)  # imports the program first
    attach_nova()
    sys.argv = [command, *args]
    return main()


def run_module(module: str, args: Sequence[str]) -> None:
    """Run ``python -m module args`` in this process, hook points attached.

    :raises LaunchError: when ``module`` cannot be found (nothing is attached then).
    """
    try:
        found = importlib.util.find_spec(module)
    except (ImportError, ValueError) as exc:  # its package is missing, or a bad name
        raise LaunchError(f"no module named {module!r} ({exc})") from None
    if found is None:
        raise LaunchError(f"no module named {module!r}")
    package = module.rpartition(".")[0]
    if package:
        importlib.import_module(package)  # e.g. nova.cmd: Nova's monkey patching
    attach_nova()
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)

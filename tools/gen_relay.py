"""Write ``nova_hookspec/relay.py``: a typed Protocol over the 12 hookspecs.

pluggy cannot type ``pm.hook.NAME(...)`` calls (pluggy #191). This script
reads the specs in :mod:`nova_hookspec.hookspecs` and writes a Protocol whose
methods take the same arguments, keyword-only, and return what pluggy
returns: a list of results for the ``*_pre``/``*_post`` hooks, the result
for the firstresult call hooks. ``tests/test_typing.py`` fails when the file
and the specs disagree.

    python tools/gen_relay.py > nova_hookspec/relay.py
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nova_hookspec import hookspecs
from nova_hookspec._spec import points as _points

HEADER = '''"""A typed view of the hook relay, for code that calls hooks directly.

Generated from :mod:`nova_hookspec.hookspecs` by ``tools/gen_relay.py``; do
not edit (``tests/test_typing.py`` fails when it and the specs disagree).

    from nova_hookspec.relay import typed_hook

    hook = typed_hook()
    hook.delete_instance_pre(instance=inst)      # every other argument defaults
    hook.delete_instance_pre(compute_manager=mgr, context=ctx, instance=inst,
                             bdms=bdms, args=(mgr, ctx, inst, bdms), kwargs={{}})

Every argument may be left out: it takes its documented default (``args``
``()``, ``kwargs`` ``{{}}``, ``result`` ``None``), on every supported pluggy.
A misspelled keyword or a wrong type is a type-checker error. Calling a
call-phase hook (``delete_instance``) directly raises: Nova's callable runs
only through the decorated function.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, cast

import pluggy

from nova_hookspec._plugins.process import get_plugin_manager
from nova_hookspec._spec import points as _points
from nova_hookspec.hookspecs import (
{imports}
)


class HookRelay(Protocol):
    """``pm.hook`` with the 12 typed hooks' signatures."""
'''

FOOTER = '''

class _Relay:
    """``pm.hook``, with the documented default for every argument a call leaves out."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self._hook = pm.hook

    def __getattr__(self, name: str) -> Any:
        hook = getattr(self._hook, name)
        located = _points.hook_phase(name)
        if located is None:
            return hook
        point, phase = located
        defaults = {arg.name: arg.default for arg in point.arguments}
        if phase == "post":
            defaults["result"] = None

        def call(**given: Any) -> Any:
            return hook(**{**defaults, "args": (), "kwargs": {}, **given})

        call.__name__ = name
        return call


def typed_hook(pm: pluggy.PluginManager | None = None) -> HookRelay:
    """``pm.hook`` (default: the process-wide manager's), typed as :class:`HookRelay`,
    every argument optional."""
    return cast(HookRelay, _Relay(pm or get_plugin_manager()))
'''

ALIASES = ("ComputeAPI", "ComputeManager", "Flavor", "Instance", "NetworkAPI", "NovaObject",
           "RequestContext")


def render() -> str:
    methods = []
    for point in _points.TYPED_POINTS:
        for phase in _points.PHASES:
            name = point.hook_name(phase)
            function = getattr(hookspecs, name)
            params = inspect.signature(function).parameters.values()
            annotations = function.__annotations__
            ret = annotations["return"]
            result = ret if phase == "call" else f"list[{ret}]"
            lines = [f"    def {name}(", "        self,", "        *,"]
            lines += [f"        {p.name}: {annotations[p.name]} = ...," for p in params]
            lines.append(f"    ) -> {result}: ...")
            methods.append("\n".join(lines))
    imports = "\n".join(f"    {alias}," for alias in ALIASES)
    return HEADER.format(imports=imports) + "\n" + "\n\n".join(methods) + "\n" + FOOTER


if __name__ == "__main__":
    sys.stdout.write(render())

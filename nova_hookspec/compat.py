"""A drop-in for Nova's ``nova.hooks`` module, backed by nova_hookspec.

Code written for ``nova.hooks`` keeps working with ``from nova_hookspec
import compat as hooks``::

    @hooks.add_hook("resize_hook")
    def resize_instance(self, context, instance):
        ...

    manager = hooks.HookManager("resize_hook")
    manager.run_pre("resize_hook", args, kwargs)

Classes on the ``nova.hooks`` entry-point group run as before, now ordered
among typed plugins and wrapped by them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Final

from nova_hookspec import _manager
from nova_hookspec._errors import FatalHookException
from nova_hookspec._executor import HOOKED
from nova_hookspec._hooked import HookedFunction, add_hook
from nova_hookspec._manager import reset
from nova_hookspec._markers import LEGACY_GROUP
from nova_hookspec._points import Phase

#: The entry-point group of legacy hook classes.
NS: Final = LEGACY_GROUP

__all__ = ["NS", "FatalHookException", "HookManager", "add_hook", "reset"]


def _unknown(*args: Any, **kwargs: Any) -> None:
    raise TypeError("HookManager.run_pre/run_post got no function to describe")


#: The hooked-function record (its argument plan) of the last functions seen,
#: most recent last. Bounded: code that passes a fresh ``f`` on every call (a
#: lambda, a bound method) must not keep every one of them alive.
_described: OrderedDict[tuple[str, Callable[..., Any] | None], HookedFunction] = OrderedDict()
_DESCRIBED_MAX = 256


class HookManager:
    """Run the pre or post phase of one hook point by hand, as Nova's class did.

    :param name: the hook point (declared as a custom point if new).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.point = _manager.declare_point(name)

    def _phase(
        self,
        phase: Phase,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        f: Callable[..., Any] | None,
        extra: dict[str, Any],
    ) -> None:
        key = (self.point.name, f)
        hooked = _described.get(key)
        if hooked is None:  # the argument plan is worked out once per function
            hooked = _described[key] = HookedFunction(
                self.point, f or _unknown, pass_function=f is not None
            )
            while len(_described) > _DESCRIBED_MAX:
                _described.popitem(last=False)
        else:
            _described.move_to_end(key)
        hook_kwargs = hooked.plan.bind(tuple(args), kwargs)
        hook_kwargs[HOOKED] = hooked
        pm = _manager.get_plugin_manager()  # every declared point has its specs
        pm.load_point(self.point)
        getattr(pm.hook, self.point.hook_name(phase))(**hook_kwargs, **extra)

    def run_pre(
        self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], f: Callable[..., Any] | None = None
    ) -> None:
        """Run the ``pre`` phase of hook ``name`` with the call's arguments."""
        target = self if name == self.name else HookManager(name)
        target._phase("pre", args, kwargs, f, {})

    def run_post(
        self,
        name: str,
        rv: object,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        f: Callable[..., Any] | None = None,
    ) -> None:
        """Run the ``post`` phase of hook ``name`` with the call's result and arguments."""
        target = self if name == self.name else HookManager(name)
        target._phase("post", args, kwargs, f, {"result": rv})

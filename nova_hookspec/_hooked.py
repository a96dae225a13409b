"""The hooked-call model: ``add_hook`` and what happens on a hooked call.

A callable decorated with ``add_hook(NAME)`` runs, on each call:

1. ``NAME_pre`` observers, in order;
2. the ``NAME`` hook: wrappers around Nova's callable, the innermost
   implementation; the hook's result is what the caller gets;
3. ``NAME_post`` observers, in order, with that result, only if the call
   returned (an exception goes to the caller and no post observer runs).

Every phase receives the very argument objects the callable receives. How the
callable's arguments map onto the hook's names is worked out once, when it is
decorated; with no plugin on any of the three hooks the call is a plain call
plus one dictionary lookup.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import Any, TypeVar

from nova_hookspec import _manager
from nova_hookspec._binding import ArgumentPlan
from nova_hookspec._dispatch import PhasePlan, run_observers
from nova_hookspec._executor import HOOKED
from nova_hookspec._points import HookPoint

_F = TypeVar("_F", bound="Callable[..., Any]")


class HookedFunction:
    """One decorated callable: its hook point, the original function, its plan.

    :param point: the hook point it belongs to.
    :param function: the callable as it was before decoration.
    :param pass_function: whether legacy classes get ``function`` first, as
        with Nova's ``add_hook(name, pass_function=True)``.
    """

    __slots__ = ("function", "pass_function", "plan", "point")

    def __init__(self, point: HookPoint, function: Callable[..., Any], pass_function: bool) -> None:
        self.point = point
        self.function = function
        self.pass_function = pass_function
        self.plan = ArgumentPlan(point, function)

    def __repr__(self) -> str:
        name = getattr(self.function, "__qualname__", repr(self.function))
        return f"<hooked {name} on {self.point.name!r}>"

    def call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Make one hooked call of :attr:`function` with ``args`` and ``kwargs``."""
        pm = _manager.get_plugin_manager()
        dispatch = pm.dispatch(self.point)
        if dispatch is None:
            return self.function(*args, **kwargs)
        # Unmonitored, observer phases of plain impls skip pluggy's per-call machinery.
        fast = not pm.monitored
        hook_kwargs: dict[str, Any] | None = None
        if dispatch.pre is not None:
            hook_kwargs = self._observe(pm, dispatch.pre, fast, hook_kwargs, args, kwargs)
        if dispatch.call is not None:
            hook_kwargs = hook_kwargs or self._bind(args, kwargs)
            result = pm.run_phase(dispatch.call, hook_kwargs)
        else:
            result = self.function(*args, **kwargs)
        if dispatch.post is not None:
            self._observe(pm, dispatch.post, fast, hook_kwargs, args, kwargs, result)
        return result

    def _observe(
        self,
        pm: _manager.NovaPluginManager,
        plan: PhasePlan,
        fast: bool,
        hook_kwargs: dict[str, Any] | None,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        result: Any = None,
    ) -> dict[str, Any] | None:
        """Run a pre or post phase; return the hook keyword arguments if they were bound.

        They are bound only when something needs them: a typed implementation,
        a wrapper, or pluggy's executor (monitoring).
        """
        if plan.typed or not fast:
            hook_kwargs = hook_kwargs or self._bind(args, kwargs)
            if plan.phase == "post":
                hook_kwargs["result"] = result
        if fast and plan.steps is not None:
            legacy_function = self.function if self.pass_function else None
            run_observers(plan, hook_kwargs, args, kwargs, legacy_function, result, self.plan)
        else:
            assert hook_kwargs is not None  # plan.typed holds whenever steps is None
            pm.run_phase(plan, hook_kwargs)
        return hook_kwargs

    def _bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        hook_kwargs = self.plan.bind(args, kwargs)
        hook_kwargs[HOOKED] = self
        return hook_kwargs


def add_hook(name: str, pass_function: bool = False) -> Callable[[_F], _F]:
    """Decorate a callable so that the plugins of hook point ``name`` run around it.

    A drop-in for Nova's ``nova.hooks.add_hook``: the decorated callable keeps
    its metadata (``functools.wraps``) and gets ``__hook_name__``. ``name`` is
    one of the four typed points, a legacy alias (``build_instance``), or any
    other identifier, which declares a custom hook point with the generic
    ``args``/``kwargs`` specification.

    :param name: the hook point.
    :param pass_function: give legacy classes the original function as their
        first argument, as Nova did.
    :raises HookDeclarationError: for a name that collides with another
        point's hooks (``x_pre`` when ``x`` exists) or is no identifier.
    """
    point = _manager.declare_point(name)

    def decorate(function: _F) -> _F:
        # As Nova did; a builtin or bound method cannot take it, the wrapper does.
        with contextlib.suppress(AttributeError, TypeError):
            function.__hook_name__ = name  # type: ignore[attr-defined]
        hooked = HookedFunction(point, function, pass_function)
        call = hooked.call
        point_name = point.name
        state = _manager.STATE

        @functools.wraps(function)
        def hooked_call(*args: Any, **kwargs: Any) -> Any:
            # The no-plugin path, inline: a plain call after two lookups.
            pm = state.current
            if pm is not None and pm._dispatch.get(point_name, pm) is None:
                return function(*args, **kwargs)
            return call(args, kwargs)

        hooked_call.__hook_name__ = name  # type: ignore[attr-defined]
        hooked_call.__nova_hookspec__ = hooked  # type: ignore[attr-defined]
        return hooked_call  # type: ignore[return-value]

    return decorate

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
from nova_hookspec._dispatch import (
    Dispatch,
    PhasePlan,
    run_legacy_observers,
    run_observers,
    run_one_wrapper,
    run_typed_observers,
    run_wrapped_call,
)
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
        if not dispatch.fast:  # every phase through the executor, under the monitoring
            return self._call_monitored(pm, dispatch, args, kwargs)
        return self.run_fast(dispatch, args, kwargs)

    def run_fast(self, dispatch: Dispatch, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """One hooked call by the dispatch plan's fast loops (no monitoring)."""
        # The hook's keyword arguments are bound only if a typed plugin needs them.
        hook_kwargs: dict[str, Any] | None = None
        pre, call, post = dispatch.pre, dispatch.call, dispatch.post
        if pre is not None:
            if pre.compiled is not None:
                hook_kwargs = self.plan.bind(args, kwargs)
                hook_kwargs[HOOKED] = self
                pre.compiled(hook_kwargs)
            elif pre.loop == "typed":
                hook_kwargs = self._bind(args, kwargs)
                run_typed_observers(pre, hook_kwargs)
            elif pre.legacy is not None:
                pre.legacy(args, kwargs, self.function if self.pass_function else None, None,
                           self.plan)
            else:
                if pre.typed:
                    hook_kwargs = self._bind(args, kwargs)
                self._observe_fast(pre, hook_kwargs, args, kwargs)
        if call is not None:
            if hook_kwargs is None:
                hook_kwargs = self.plan.bind(args, kwargs)
                hook_kwargs[HOOKED] = self
            if call.steps is not None:
                if len(call.steps) == 1:
                    result = run_one_wrapper(call, hook_kwargs, self.function, args, kwargs)
                else:
                    result = run_wrapped_call(call, hook_kwargs, self.function, args, kwargs)
            else:
                result = _manager.get_plugin_manager().run_phase(call, hook_kwargs)
        else:
            result = self.function(*args, **kwargs)
        if post is not None:
            if post.typed:
                if hook_kwargs is None:
                    hook_kwargs = self._bind(args, kwargs)
                hook_kwargs["result"] = result
            if post.compiled is not None:
                post.compiled(hook_kwargs)  # type: ignore[arg-type]
            elif post.loop == "typed":
                run_typed_observers(post, hook_kwargs)  # type: ignore[arg-type]
            elif post.legacy is not None:
                post.legacy(args, kwargs, self.function if self.pass_function else None, result,
                            self.plan)
            else:
                self._observe_fast(post, hook_kwargs, args, kwargs, result)
        return result

    def _observe_fast(
        self,
        plan: PhasePlan,
        hook_kwargs: dict[str, Any] | None,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        result: Any = None,
    ) -> None:
        """An observer phase by the fast loop its plan chose, else by the executor."""
        loop = plan.loop
        if loop == "legacy":
            run_legacy_observers(plan, args, kwargs, self.function if self.pass_function else None,
                                 result, self.plan)
        elif loop is not None:
            run_observers(plan, hook_kwargs, args, kwargs,
                          self.function if self.pass_function else None, result, self.plan)
        else:
            assert hook_kwargs is not None  # plan.typed holds whenever the loop is None
            _manager.get_plugin_manager().run_phase(plan, hook_kwargs)

    def _call_monitored(
        self, pm: _manager.NovaPluginManager, dispatch: Dispatch, args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        """Every phase through the hook executor (so through pluggy's monitoring)."""
        hook_kwargs = self._bind(args, kwargs)
        if dispatch.pre is not None:
            pm.run_phase(dispatch.pre, hook_kwargs)
        if dispatch.call is not None:
            result = pm.run_phase(dispatch.call, hook_kwargs)
        else:
            result = self.function(*args, **kwargs)
        if dispatch.post is not None:
            hook_kwargs["result"] = result
            pm.run_phase(dispatch.post, hook_kwargs)
        return result

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
        call, run_fast = hooked.call, hooked.run_fast
        point_name = point.name
        plans = _manager.DISPATCH

        @functools.wraps(function)
        def hooked_call(*args: Any, **kwargs: Any) -> Any:
            # Inline: the no-plugin path is a plain call after two lookups; a
            # planned point goes straight to the fast loops.
            try:
                dispatch = plans[point_name]
            except KeyError:  # not planned yet (or no manager yet)
                return call(args, kwargs)
            if dispatch is None:
                return function(*args, **kwargs)
            if dispatch.fast:
                return run_fast(dispatch, args, kwargs)
            return call(args, kwargs)

        hooked_call.__hook_name__ = name  # type: ignore[attr-defined]
        hooked_call.__nova_hookspec__ = hooked  # type: ignore[attr-defined]
        return hooked_call  # type: ignore[return-value]

    return decorate

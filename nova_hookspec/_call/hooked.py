"""The hooked-call model: ``add_hook`` and what happens on a hooked call.

A callable decorated with ``add_hook(NAME)`` runs, on each call:

1. ``NAME_pre`` observers, in order;
2. the ``NAME`` hook: wrappers around Nova's callable, the innermost
   implementation; the hook's result is what the caller gets;
3. ``NAME_post`` observers, in order, with that result, only if the call
   returned (an exception goes to the caller and no post observer runs).

Every phase receives the very argument objects the callable receives. How the
callable's arguments map onto the hook's names is worked out once, when it is
decorated; what a call does under the current plugins is written out as one
function when the point is planned (:mod:`nova_hookspec._call.runner`). With no
plugin on any of the three hooks the call is a plain call after one test.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from nova_hookspec._call import dispatch as _dispatch
from nova_hookspec._call import source as _source
from nova_hookspec._call.binding import ArgumentPlan
from nova_hookspec._call.dispatch import Dispatch
from nova_hookspec._call.executor import HOOKED
from nova_hookspec._call.runner import Runner, write_runner
from nova_hookspec._spec.points import HookPoint

_F = TypeVar("_F", bound="Callable[..., Any]")


class HookedFunction:
    """One decorated callable: its hook point, the original function, its plan.

    :param point: the hook point it belongs to.
    :param function: the callable as it was before decoration.
    :param pass_function: whether legacy classes get ``function`` first, as
        with Nova's ``add_hook(name, pass_function=True)``.
    """

    __slots__ = ("__weakref__", "_written", "function", "install", "pass_function", "plan",
                 "point", "prepare")

    def __init__(self, point: HookPoint, function: Callable[..., Any], pass_function: bool) -> None:
        self.point = point
        self.function = function
        self.pass_function = pass_function
        self.plan = ArgumentPlan(point, function)
        #: Gives the decorated callable its runner (set by :func:`add_hook`).
        self.install: Callable[[Runner | None], None] | None = None
        #: Called with this record before each planning of a call (not on the
        #: written runner's path): :mod:`nova_hookspec.compat` puts Nova's
        #: ``_HOOKS`` managers in place here.
        self.prepare: Callable[[HookedFunction], None] | None = None
        self._written: tuple[Dispatch | None, Runner | None] = (None, None)

    def __repr__(self) -> str:
        name = getattr(self.function, "__qualname__", repr(self.function))
        return f"<hooked {name} on {self.point.name!r}>"

    def call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Make one hooked call of :attr:`function` with ``args`` and ``kwargs``.

        Works out the runner of the current plan first, and gives it to the
        decorated callable for the calls that follow.
        """
        if self.prepare is not None:
            self.prepare(self)
        seen = _dispatch.epoch()
        pm = _source.get()
        runner = self.runner(pm, pm.dispatch(self.point))
        if self.install is not None and _source.STATE.current is pm:
            _dispatch.install(self, runner, seen)
        if runner is None:
            return self.function(*args, **kwargs)
        return runner(args, kwargs)

    def replan(self) -> None:
        """Drop the runner written for the last plan (its plugins with it): the
        next call plans again."""
        self._written = (None, None)
        if self.install is not None:
            self.install(self.call)

    def runner(self, pm: _source.PlanSource, dispatch: Dispatch | None) -> Runner | None:
        """What makes a call under ``dispatch``: ``None`` (no plugin, a plain
        call), a written runner, or the executor under monitoring or when a
        phase needs it."""
        if dispatch is None:
            return None
        if not dispatch.writable:
            return functools.partial(self.run_by_executor, pm, dispatch)
        written_for, runner = self._written
        if written_for is not dispatch:
            runner = write_runner(self, dispatch)
            self._written = (dispatch, runner)
        return runner

    def run_by_executor(
        self, pm: _source.PlanSource, dispatch: Dispatch, args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        """Every phase through the hook executor (so through pluggy's monitoring)."""
        hook_kwargs = self.plan.bind(args, kwargs)
        hook_kwargs[HOOKED] = self
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
    point = _source.declare_point(name)

    def decorate(function: _F) -> _F:
        # As Nova did; a builtin or bound method cannot take it, the wrapper does.
        with contextlib.suppress(AttributeError, TypeError):
            setattr(function, "__hook_name__", name)  # noqa: B010 - the dynamic attribute Nova set
        hooked = HookedFunction(point, function, pass_function)
        runner: Runner | None = hooked.call  # until the point is planned

        @functools.wraps(function)
        def hooked_call(*args: Any, **kwargs: Any) -> Any:
            if runner is None:  # no plugin on the point: a plain call
                return function(*args, **kwargs)
            return runner(args, kwargs)

        def install(new: Runner | None) -> None:
            nonlocal runner
            runner = new

        hooked.install = install
        _dispatch.watch(hooked)
        setattr(hooked_call, "__hook_name__", name)  # noqa: B010 - Nova's tests read it
        setattr(hooked_call, "__nova_hookspec__", hooked)  # noqa: B010 - found again by compat
        return cast(_F, hooked_call)

    return decorate

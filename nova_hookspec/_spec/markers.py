"""The markers of the ``nova_hookspec`` project: pluggy's for specs, our own for impls.

The hookimpl marker is nova_hookspec's own so that every option works on
every supported pluggy (0.13 has no ``specname``, pluggy < 1.1 no
``wrapper``): it stores the options where pluggy's marker does (the
``nova_hookspec_impl`` attribute), so a function marked with
``pluggy.HookimplMarker("nova_hookspec")`` is a hookimpl too.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any, Final, TypeVar, overload

import pluggy

#: The pluggy project name: markers set ``nova_hookspec_spec`` and
#: ``nova_hookspec_impl`` attributes, and the typed entry-point group has the
#: same name.
PROJECT_NAME: Final = "nova_hookspec"

#: The entry-point group of typed plugins.
TYPED_GROUP: Final = "nova_hookspec"

#: The entry-point group of classic ``nova.hooks`` pre/post classes.
LEGACY_GROUP: Final = "nova.hooks"

#: Marks a hook specification (used by :mod:`nova_hookspec.hookspecs`).
hookspec: Final = pluggy.HookspecMarker(PROJECT_NAME)

_IMPL_ATTR: Final = PROJECT_NAME + "_impl"

#: Every hookimpl option and its default.
IMPL_DEFAULTS: Final[dict[str, Any]] = {
    "wrapper": False,
    "hookwrapper": False,
    "optionalhook": False,
    "tryfirst": False,
    "trylast": False,
    "specname": None,
    "before": (),
    "after": (),
    "deferred": False,
    "max_attempts": None,
    "retry_min_backoff": None,
    "retry_max_backoff": None,
    "time_limit": None,
}

#: The options of a deferred observer's run policies (``None``: not set by the plugin).
POLICY_OPTIONS: Final = ("max_attempts", "retry_min_backoff", "retry_max_backoff",
                         "time_limit")

_F = TypeVar("_F", bound="Callable[..., Any]")


def _names(value: str | Sequence[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


class HookimplMarker:
    """Marks a function as a hook implementation, with pluggy's options and ours.

    ``@hookimpl`` or ``@hookimpl(...)`` with:

    :param tryfirst: run before plain implementations of the hook.
    :param trylast: run after them.
    :param wrapper: a new-style wrapper (a generator that yields once).
    :param hookwrapper: an old-style pluggy wrapper (receives a result object).
    :param optionalhook: no error when the hook does not exist.
    :param specname: the hook's name, when the function is named otherwise.
    :param before: plugin names this implementation runs before.
    :param after: plugin names this implementation runs after.
    :param deferred: (a ``NAME_post`` observer) run by the worker, not in the
        call: the call writes a job (:mod:`nova_hookspec.deferred`).
    :param max_attempts: (deferred) runs of a job before the dead letters.
    :param retry_min_backoff: (deferred) seconds before the first retry.
    :param retry_max_backoff: (deferred) longest wait between two runs, seconds.
    :param time_limit: (deferred) seconds a run may take before it fails.

    The last four override the ``[nova_hookspec]`` settings for this observer;
    the operator's ``[nova_hookspec:PLUGIN]`` section overrides them in turn
    (:mod:`nova_hookspec.deferred.middleware`).
    """

    def __init__(self, project_name: str) -> None:
        self.project_name = project_name

    @overload
    def __call__(self, function: _F) -> _F: ...

    @overload
    def __call__(
        self,
        function: None = ...,
        *,
        hookwrapper: bool = ...,
        optionalhook: bool = ...,
        tryfirst: bool = ...,
        trylast: bool = ...,
        specname: str | None = ...,
        wrapper: bool = ...,
        before: str | Sequence[str] = ...,
        after: str | Sequence[str] = ...,
        deferred: bool = ...,
        max_attempts: int | None = ...,
        retry_min_backoff: float | None = ...,
        retry_max_backoff: float | None = ...,
        time_limit: float | None = ...,
    ) -> Callable[[_F], _F]: ...

    def __call__(
        self,
        function: _F | None = None,
        *,
        hookwrapper: bool = False,
        optionalhook: bool = False,
        tryfirst: bool = False,
        trylast: bool = False,
        specname: str | None = None,
        wrapper: bool = False,
        before: str | Sequence[str] = (),
        after: str | Sequence[str] = (),
        deferred: bool = False,
        max_attempts: int | None = None,
        retry_min_backoff: float | None = None,
        retry_max_backoff: float | None = None,
        time_limit: float | None = None,
    ) -> _F | Callable[[_F], _F]:
        opts = {
            "wrapper": wrapper,
            "hookwrapper": hookwrapper,
            "optionalhook": optionalhook,
            "tryfirst": tryfirst,
            "trylast": trylast,
            "specname": specname,
            "before": _names(before),
            "after": _names(after),
            "deferred": deferred,
            "max_attempts": max_attempts,
            "retry_min_backoff": retry_min_backoff,
            "retry_max_backoff": retry_max_backoff,
            "time_limit": time_limit,
        }

        def mark(func: _F) -> _F:
            setattr(func, f"{self.project_name}_impl", opts)
            return func

        return mark if function is None else mark(function)


#: Marks a hook implementation in a typed plugin.
hookimpl: Final = HookimplMarker(PROJECT_NAME)


def impl_opts(plugin: object, attr: str) -> dict[str, Any] | None:
    """The hookimpl options of ``plugin``'s attribute ``attr`` (every key set), or ``None``.

    Descriptors are not run (``inspect.getattr_static``): a property of a
    plugin object is never evaluated by looking for hookimpls.
    """
    try:
        static = inspect.getattr_static(plugin, attr)
    except AttributeError:
        return None
    if isinstance(static, (staticmethod, classmethod)):
        static = static.__func__
    if not inspect.isroutine(static):
        return None
    marked = getattr(static, _IMPL_ATTR, None)
    if not isinstance(marked, dict):
        return None
    return complete(marked)


def complete(marked: dict[str, Any]) -> dict[str, Any]:
    """Hookimpl options with every key set (pluggy's markers set fewer)."""
    opts = dict(IMPL_DEFAULTS)
    opts.update(marked)
    opts["before"] = _names(opts["before"] or ())
    opts["after"] = _names(opts["after"] or ())
    return opts

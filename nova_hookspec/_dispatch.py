"""The per-point dispatch plan, and the fast loop for observer phases.

A :class:`Dispatch` says which phases of a hook point have plugins; a
:class:`PhasePlan` is one phase as it stands between two registry changes,
with what the fast observer loop (:func:`run_observers`) calls in run order.
Phases with wrappers, and every phase under hook-call monitoring, go through
the executor (:mod:`nova_hookspec._executor`) instead; both apply the same
failure policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from nova_hookspec import _pluggy, _points
from nova_hookspec._executor import impl_arguments
from nova_hookspec._legacy import LegacyHook
from nova_hookspec._policy import is_plugin_failure, report_failure


class PhasePlan:
    """One phase of a hook point as it stands between two registry changes.

    :param hook_name: the pluggy hook.
    :param impls: its implementations, in pluggy's list order (a snapshot).
    :param steps: for a phase of plain implementations only, what the fast
        observer loop calls, in run order; ``None`` when wrappers take part.
    :param typed: whether the phase needs the hook's keyword arguments: a typed
        implementation or a wrapper takes part (only legacy classes do not).
    """

    __slots__ = ("firstresult", "hook_name", "impls", "phase", "steps", "typed")

    def __init__(self, hook_name: str, phase: _points.Phase, impls: list[Any]) -> None:
        self.hook_name = hook_name
        self.phase = phase
        self.firstresult = phase == "call"
        self.impls = impls
        self.typed = False
        steps: list[tuple[str, Any, tuple[str, ...], tuple[str, ...], Any]] = []
        for impl in reversed(impls):
            if _pluggy.is_wrapper(impl):
                self.typed = True
                self.steps = None
                return
            legacy = impl.plugin.methods.get(phase) if isinstance(impl.plugin, LegacyHook) else None
            if legacy is None:
                self.typed = True
            steps.append((impl.plugin_name, impl.function, tuple(impl.argnames),
                          tuple(impl.kwargnames), legacy))
        self.steps = tuple(steps)


def run_observers(
    plan: PhasePlan,
    hook_kwargs: Mapping[str, Any] | None,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    function: Any,
    result: Any = None,
    binding: Any = None,
) -> None:
    """Call the plain implementations of an observer phase, with the error policy.

    What pluggy's loop would do for plain implementations, with nothing
    rebuilt per call: a legacy class's own method is called directly, the way
    Nova called it. ``function`` is the hooked function when legacy classes
    get it first (``pass_function``), else ``None``. ``binding`` (the call's
    argument plan) finds the instance a failure is about, when one happens.
    """
    assert plan.steps is not None
    post = plan.phase == "post"
    for plugin_name, impl_function, argnames, kwargnames, legacy in plan.steps:
        try:
            if legacy is not None:
                if function is None:
                    if post:
                        legacy(result, *args, **kwargs)
                    else:
                        legacy(*args, **kwargs)
                elif post:
                    legacy(function, result, *args, **kwargs)
                else:
                    legacy(function, *args, **kwargs)
            else:
                assert hook_kwargs is not None
                positional, keywords = impl_arguments(argnames, kwargnames, hook_kwargs)
                impl_function(*positional, **keywords)
        except Exception as exc:
            values = hook_kwargs or (binding.bind(args, kwargs) if binding is not None else {})
            report_failure(plugin_name, plan.hook_name, exc, instance=values.get("instance"))
            if not is_plugin_failure(exc):
                raise


class Dispatch(NamedTuple):
    """The phases of a point that have plugins (``None``: skip the phase)."""

    pre: PhasePlan | None
    call: PhasePlan | None
    post: PhasePlan | None

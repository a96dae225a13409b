"""The per-point dispatch plan, and which runner each decorated callable uses.

A :class:`Dispatch` says which phases of a hook point have plugins; a
:class:`PhasePlan` is one phase as it stands between two registry changes,
with what runs in it, in order, worked out once (:class:`Step`).

A decorated callable keeps its current *runner* in a closure cell it reads
on every call (:func:`nova_hookspec.add_hook`): ``None`` when its point has
no plugin (a plain call), else a function written for its plan
(:mod:`nova_hookspec._call.runner`), else its planning path. Every registry
change and every change of the process-wide manager sends all of them back
to planning (:func:`invalidate`); the next call plans and hands its runner
over (:func:`install`), unless another change came in meanwhile (an epoch
counter tells).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

from nova_hookspec._call.executor import CallCore
from nova_hookspec._call.legacy import LegacyHook
from nova_hookspec._call.policy import is_plugin_failure, report_failure
from nova_hookspec._seams import pluggy_api as _pluggy
from nova_hookspec._spec import points as _points

if TYPE_CHECKING:
    from nova_hookspec._call.decorated import Decorated

#: Up to how many observers a phase is written out call by call; past that,
#: writing costs more than it saves, and :func:`run_observers` loops.
WRITTEN_OUT_LIMIT = 32


class Step(NamedTuple):
    """One implementation of a phase, as the runner calls it.

    :param plugin_name: the plugin, for failure lines.
    :param function: the hookimpl's function (a legacy adapter's for a legacy class).
    :param names: the hook arguments it asks for, in its parameters' order.
    :param legacy: a legacy class's own ``pre``/``post`` method, called as
        Nova called it; ``None`` for a typed implementation.
    """

    plugin_name: str
    function: Callable[..., Any]
    names: tuple[str, ...]
    legacy: Callable[..., Any] | None


class PhasePlan:
    """One phase of a hook point as it stands between two registry changes.

    :param hook_name: the pluggy hook.
    :param phase: ``pre``, ``call`` or ``post``.
    :param impls: its implementations, in pluggy's list order (a snapshot).

    :attr:`steps` are the implementations in run order, or ``None`` when the
    phase needs the hook executor (an old-style hookwrapper, or a wrapper on
    an observer phase).
    """

    __slots__ = ("firstresult", "hook_name", "impls", "phase", "steps")

    def __init__(self, hook_name: str, phase: _points.Phase, impls: list[Any]) -> None:
        self.hook_name = hook_name
        self.phase = phase
        self.firstresult = phase == "call"
        self.impls = impls
        self.steps = _steps(phase, impls)

    @property
    def written_out(self) -> bool:
        """Whether a runner calls this phase's observers one by one (else it loops)."""
        return self.steps is not None and len(self.steps) <= WRITTEN_OUT_LIMIT


def _steps(phase: _points.Phase, impls: list[Any]) -> tuple[Step, ...] | None:
    """The plugins' implementations in run order; ``None`` if one needs the executor."""
    steps = []
    for impl in reversed(impls):
        if isinstance(impl.plugin, CallCore):
            continue
        if _pluggy.is_wrapper(impl) and (phase != "call" or impl.opts.get("hookwrapper")):
            return None
        legacy = (impl.plugin.methods.get(phase)
                  if isinstance(impl.plugin, LegacyHook) and not impl.opts.get("deferred")
                  else None)
        steps.append(Step(impl.plugin_name, impl.function, (*impl.argnames, *impl.kwargnames),
                          legacy))
    return tuple(steps)


class Dispatch(NamedTuple):
    """The phases of a point that have plugins (``None``: skip the phase), and
    whether the fast loops may run them (``False`` under hook-call monitoring)."""

    pre: PhasePlan | None
    call: PhasePlan | None
    post: PhasePlan | None
    fast: bool = True

    @property
    def writable(self) -> bool:
        """Whether a written runner can make the call (no phase needs the executor)."""
        return self.fast and all(p.steps is not None for p in self.phases)

    @property
    def phases(self) -> list[PhasePlan]:
        """The phases that have plugins, in call order."""
        return [p for p in (self.pre, self.call, self.post) if p is not None]


def observer_failed(plugin_name: str, hook_name: str, exc: Exception, instance: object) -> None:
    """An observer failed: logged with the call's instance; re-raised unless ordinary."""
    report_failure(plugin_name, hook_name, exc, instance=instance)
    if not is_plugin_failure(exc):
        raise exc


def run_observers(plan: PhasePlan, values: Mapping[str, Any], args: tuple[Any, ...],
                  kwargs: dict[str, Any], lead: tuple[Any, ...]) -> None:
    """The observers of a phase too long to write out, in a loop, with the error policy.

    ``values`` holds the hook's arguments by name; ``lead`` is what a legacy
    method gets before the call's arguments (the hooked function with
    ``pass_function``, the result after the call).
    """
    assert plan.steps is not None
    for step in plan.steps:
        try:
            if step.legacy is not None:
                step.legacy(*lead, *args, **kwargs)
            else:
                step.function(*[values[name] for name in step.names])
        except Exception as exc:  # noqa: BLE001 - observer_failed re-raises what is no plugin failure
            observer_failed(step.plugin_name, plan.hook_name, exc, values.get("instance"))


# ---------------------------------------------------------------- installed runners

_lock = threading.Lock()
_epoch = 0
_watched: weakref.WeakSet[Decorated] = weakref.WeakSet()


def watch(hooked: Decorated) -> None:
    """Have :func:`invalidate` reach ``hooked``'s decorated callable."""
    with _lock:
        _watched.add(hooked)


def epoch() -> int:
    """The current epoch: read it before planning, hand it to :func:`install`."""
    return _epoch


def install(hooked: Decorated, runner: Any, seen: int) -> None:
    """Give ``hooked``'s decorated callable ``runner``, planned in epoch ``seen``,
    unless a change came in since (the runner would be stale)."""
    with _lock:
        if _epoch == seen and hooked.install is not None:
            hooked.install(runner)


def invalidate() -> None:
    """Send every decorated callable back to its planning path (a registry change)."""
    global _epoch
    with _lock:
        _epoch += 1
        for hooked in _watched:
            hooked.replan()

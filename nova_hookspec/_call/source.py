"""Where the call model gets its plans: the process-wide plan source.

A hooked call needs the current plans of its point (which phases have
plugins, in which order) and, under monitoring, a way to run a phase through
the hook executor. The plugin manager has both, but it sits in the layer
above (:mod:`nova_hookspec._plugins`), which itself builds on the call
model. So the call model says here what it needs (:class:`PlanSource`) and
holds the current one; the plugin layer registers how to build it on first
use (:func:`provide`) and installs it (``STATE.current``).

Changing the current source sends every decorated callable back to its
planning path: their runners were written for the plans of the old one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Protocol

from nova_hookspec._call import dispatch as _dispatch
from nova_hookspec._spec import points as _points

if TYPE_CHECKING:
    from nova_hookspec._call.dispatch import Dispatch, PhasePlan


class PlanSource(Protocol):
    """What the call model asks of the plugin manager."""

    def dispatch(self, point: _points.HookPoint) -> Dispatch | None:
        """The phases of ``point`` that have plugins; ``None`` when none has."""

    def run_phase(self, plan: PhasePlan, hook_kwargs: dict[str, Any]) -> Any:
        """Run one phase through the hook executor (and any monitoring of it)."""

    def ensure_point(self, point: _points.HookPoint) -> None:
        """Know ``point``'s hooks (a custom point declared after the source was made)."""


class _ProcessState:
    """The process-wide plan source, and the one being built by discovery."""

    __slots__ = ("_current", "building")

    def __init__(self) -> None:
        self._current: PlanSource | None = None
        self.building: PlanSource | None = None

    @property
    def current(self) -> PlanSource | None:
        """The process-wide source (``None`` before the first use)."""
        return self._current

    @current.setter
    def current(self, source: PlanSource | None) -> None:
        self._current = source
        _dispatch.invalidate()  # the runners of the source that is no longer current


#: ``STATE.current`` is the process-wide plan source (the plugin manager).
STATE = _ProcessState()

_build: Callable[[], PlanSource] | None = None


def provide(build: Callable[[], PlanSource]) -> None:
    """Say how the process-wide source is made on first use (the plugin layer does)."""
    global _build
    _build = build


def get() -> PlanSource:
    """The process-wide source, built on first use."""
    source = STATE.current
    if source is not None:
        return source
    if _build is None:
        raise RuntimeError("nova_hookspec's plugin layer is not imported: import nova_hookspec")
    return _build()


def current() -> PlanSource | None:
    """The process-wide source if it exists (none is built)."""
    return STATE.current or STATE.building


def declare_point(name: str) -> _points.HookPoint:
    """Declare hook point ``name`` (see :func:`_points.declare`) in the live source."""
    point = _points.declare(name)
    source = current()
    if source is not None:
        source.ensure_point(point)
    return point

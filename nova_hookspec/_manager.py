"""The plugin manager, and the one process-wide instance of it.

Discovery happens once per process, lazily on first use, and exactly once
when many threads make the first call together. ``reset()`` drops every
plugin; the next use discovers again.
"""

from __future__ import annotations

import threading
import types
from dataclasses import dataclass
from typing import Any

import pluggy

from nova_hookspec import _callers, _discovery, _points, _tracing, _validation, hookspecs
from nova_hookspec._errors import PluginValidationError
from nova_hookspec._legacy import LegacyHook
from nova_hookspec._markers import PROJECT_NAME


@dataclass(frozen=True)
class Dispatch:
    """The phases of a point that have plugins (``None``: skip the phase)."""

    pre: _callers.PhasePlan | None
    call: _callers.PhasePlan | None
    post: _callers.PhasePlan | None


class NovaPluginManager(pluggy.PluginManager):
    """A pluggy plugin manager for Nova's hook points.

    On top of pluggy it adds the hook points' specifications (typed and
    custom), Nova's callable as the innermost implementation of each call
    phase, validation with helpful errors, and the error policy of
    :mod:`nova_hookspec._callers`.
    """

    def __init__(self) -> None:
        super().__init__(PROJECT_NAME)
        self._inner_hookexec = _callers.multicall
        self._lock = threading.RLock()
        self._dispatch: dict[str, Dispatch | None] = {}
        self._cores: dict[str, _callers.CallCore] = {}
        #: Where each entry-point plugin came from, by registered name.
        self.plugin_infos: dict[str, _discovery.PluginInfo] = {}
        #: What the last entry-point discovery did (``None`` before one ran).
        self.discovery: _discovery.DiscoveryReport | None = None
        self.add_hookspecs(hookspecs)
        for point in _points.points():
            self.ensure_point(point)

    # ------------------------------------------------------------ hook points

    def ensure_point(self, point: _points.HookPoint) -> None:
        """Add ``point``'s specs (if custom) and its call core, once."""
        if point.name in self._cores:
            return
        with self._lock:
            if point.name in self._cores:
                return
            if not point.typed:
                namespace = types.ModuleType(f"nova_hookspec.custom.{point.name}")
                namespace.__dict__.update(hookspecs.generic_specs(point.name))
                self.add_hookspecs(namespace)
            core = _callers.CallCore(point.name)
            setattr(core, point.name, _callers.core_impl(point.name))
            super().register(core, f"nova_hookspec.core:{point.name}")
            self._cores[point.name] = core
            self._changed()

    # ------------------------------------------------------------ registration

    def register(self, plugin: object, name: str | None = None) -> str | None:
        """Register ``plugin`` after checking it against the hooks.

        :raises PluginValidationError: naming the plugin, the hook and the
            nearest valid name, for a hookimpl named for no hook, an argument
            its hook lacks, a plain impl on a call (wrappers-only) hook, or a
            wrapper that is no generator.
        """
        plugin_name = name or getattr(plugin, "__name__", None) or (
            f"{type(plugin).__module__}.{type(plugin).__qualname__} object"
        )
        # nova_hookspec's own adapters of legacy classes need no checking.
        problems = (
            []
            if isinstance(plugin, LegacyHook)
            else _validation.plugin_problems(plugin_name, plugin, self.parse_hookimpl_opts)
        )
        if problems:
            raise PluginValidationError(plugin, "\n".join(problems))
        with self._lock:
            registered = super().register(plugin, name)
            self._changed()
        return registered

    def unregister(self, plugin: object | None = None, name: str | None = None) -> Any:
        """Unregister a plugin, as pluggy does."""
        with self._lock:
            plugin_name = name or (self.get_name(plugin) if plugin is not None else None)
            removed = super().unregister(plugin, name)
            self.plugin_infos.pop(plugin_name or "", None)
            self._changed()
        return removed

    def set_blocked(self, name: str) -> None:
        """Block a plugin name, as pluggy does."""
        with self._lock:
            super().set_blocked(name)
            self._changed()

    def parse_hookimpl_opts(self, plugin: object, name: str) -> pluggy.HookimplOpts | None:
        """As pluggy's, with a shortcut for legacy adapters (whose hooks are known)."""
        if isinstance(plugin, LegacyHook) and name not in plugin.hook_names:
            return None
        return super().parse_hookimpl_opts(plugin, name)

    def has_trylast_impl(self, plugin: object) -> bool:
        """Whether any hookimpl of ``plugin`` is marked trylast."""
        for attr in dir(plugin):
            opts = self.parse_hookimpl_opts(plugin, attr)
            if opts is not None and opts.get("trylast"):
                return True
        return False

    @property
    def monitored(self) -> bool:
        """Whether hook-call monitoring (tracing) wraps the hook executor."""
        return self._inner_hookexec is not _callers.multicall

    def run_phase(self, plan: _callers.PhasePlan, hook_kwargs: dict[str, Any]) -> Any:
        """Run one phase through pluggy's executor (and any monitoring of it)."""
        return self._hookexec(plan.hook_name, plan.impls, hook_kwargs, plan.firstresult)

    def _changed(self) -> None:
        self._dispatch.clear()

    # ------------------------------------------------------------ dispatch

    def dispatch(self, point: _points.HookPoint) -> Dispatch | None:
        """The phases of ``point`` that have plugins; ``None`` when none has."""
        try:
            return self._dispatch[point.name]
        except KeyError:
            pass
        self.ensure_point(point)
        # Under the registry lock: all three phases from one state of the registry.
        with self._lock:
            plans: list[_callers.PhasePlan | None] = []
            for phase in _points.PHASES:
                hook_name = point.hook_name(phase)
                hook: pluggy.HookCaller = getattr(self.hook, hook_name)
                impls = hook.get_hookimpls()
                plugins = [i for i in impls if not is_core_impl(i)]
                plans.append(_callers.PhasePlan(hook_name, phase, impls) if plugins else None)
            pre, call, post = plans
            dispatch = Dispatch(pre, call, post) if any(plans) else None
            self._dispatch[point.name] = dispatch
        return dispatch


class _ProcessState:
    """The process-wide manager, and the one being built by discovery."""

    __slots__ = ("building", "current")

    def __init__(self) -> None:
        self.current: NovaPluginManager | None = None
        self.building: NovaPluginManager | None = None


#: Read on every hooked call: ``STATE.current`` is the process-wide manager.
STATE = _ProcessState()
_lock = threading.RLock()


def get_plugin_manager() -> NovaPluginManager:
    """The process-wide plugin manager, with entry-point discovery done.

    The first call discovers plugins; concurrent first calls wait for that one
    discovery. A plugin that calls back into nova_hookspec while being loaded
    gets the manager under construction.
    """
    pm = STATE.current
    if pm is not None:
        return pm
    return _build()


def _build() -> NovaPluginManager:
    with _lock:
        if STATE.current is not None:
            return STATE.current
        if STATE.building is not None:  # re-entered from a plugin being loaded
            return STATE.building
        pm = STATE.building = NovaPluginManager()
        _tracing.enable_from_environment(pm)
        try:
            pm.discovery = _discovery.discover(pm)
        finally:
            STATE.building = None
        STATE.current = pm
        return pm


def current() -> NovaPluginManager | None:
    """The process-wide manager if it exists (no discovery triggered)."""
    return STATE.current or STATE.building


def reset() -> None:
    """Drop every plugin, discovered or registered; the next use rediscovers."""
    with _lock:
        STATE.current = None


def declare_point(name: str) -> _points.HookPoint:
    """Declare hook point ``name`` (see :func:`_points.declare`) in every live manager."""
    point = _points.declare(name)
    pm = current()
    if pm is not None:
        pm.ensure_point(point)
    return point


def is_core_impl(impl: pluggy.HookImpl) -> bool:
    """Whether ``impl`` is Nova's callable rather than a plugin."""
    return isinstance(impl.plugin, _callers.CallCore)

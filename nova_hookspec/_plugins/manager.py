"""The plugin manager: pluggy's, with Nova's hook points, validation and order.

The one process-wide instance, and discovery into it, are in
:mod:`.process`; the call model reads the manager's plans through
:class:`nova_hookspec._call.source.PlanSource`.
"""

from __future__ import annotations

import contextlib
import inspect
import itertools
import logging
import threading
import types
import warnings
from collections.abc import Iterator
from typing import Any

import pluggy

from nova_hookspec import hookspecs
from nova_hookspec._call import dispatch as _dispatch
from nova_hookspec._call import executor as _executor
from nova_hookspec._call import source as _source
from nova_hookspec._call.dispatch import Dispatch, PhasePlan
from nova_hookspec._call.legacy import LegacyHook
from nova_hookspec._plugins import controls as _controls
from nova_hookspec._plugins import deferral as _deferral
from nova_hookspec._plugins import foreign as _foreign
from nova_hookspec._plugins import ordering as _ordering
from nova_hookspec._plugins import validation as _validation
from nova_hookspec._plugins.info import DiscoveryReport, Loader, PluginInfo
from nova_hookspec._seams import pluggy_api as _pluggy
from nova_hookspec._spec import markers as _markers
from nova_hookspec._spec import points as _points
from nova_hookspec._spec.errors import PluginValidationError
from nova_hookspec._spec.markers import PROJECT_NAME

log = logging.getLogger("nova_hookspec")


class NovaPluginManager(pluggy.PluginManager):
    """A pluggy plugin manager for Nova's hook points.

    On top of pluggy it adds the hook points' specifications (typed and
    custom), Nova's callable as the innermost implementation of each call
    phase, validation with helpful errors, its own run order
    (:mod:`nova_hookspec._plugins.ordering`) and the executor with the error policy
    (:mod:`nova_hookspec._call.executor`), the same on every supported pluggy.
    """

    def __init__(self, project_name: str = PROJECT_NAME, *args: Any, **kwargs: Any) -> None:
        # pluggy's own further arguments (implprefix on 0.13), passed on as given; its
        # warnings about them point at the caller, as pluggy's do.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            super().__init__(project_name, *args, **kwargs)
        for warning in caught:
            warnings.warn(warning.message, warning.category, stacklevel=2)
        self._executor = _pluggy.install_executor(self, _executor.multicall)
        self._lock = threading.RLock()
        self._dispatch: dict[str, Dispatch | None] = {}
        self._cores: dict[str, _executor.CallCore] = {}
        self._seq: dict[str, int] = {}
        self._placement: dict[str, dict[str, str]] = {}
        self._origins: dict[str, _ordering.Origin] = {}
        #: id() -> name of every registered plugin (which stays alive while registered).
        self._names_by_id: dict[int, str] = {}
        self._discoverer: Loader | None = None
        self._rules: dict[str, dict[int, str]] = {}
        self._conflicts_reported: set[tuple[str, tuple[str, ...]]] = set()
        #: The operator controls this manager was built with.
        self.controls = _controls.Controls()
        self._counter = itertools.count()
        self._bulk = 0
        self._pending: dict[Any, list[Any]] = {}
        #: Where each entry-point plugin came from, by registered name.
        self.plugin_infos: dict[str, PluginInfo] = {}
        #: The deferred observers, by (plugin name, hook): what the worker runs.
        self.deferred: dict[tuple[str, str], _deferral.Deferred] = {}
        #: What the last entry-point discovery did (``None`` before one ran).
        self.discovery: DiscoveryReport | None = None
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
                _validation.drop_unfit_optional_impls(self.hook, point)
                namespace = types.ModuleType(f"nova_hookspec.custom.{point.name}")
                namespace.__dict__.update(hookspecs.generic_specs(point.name))
                self.add_hookspecs(namespace)
            core = _executor.CallCore(point.name)
            self.register(core, f"nova_hookspec.core:{point.name}")
            self._cores[point.name] = core

    # ------------------------------------------------------------ registration

    def register(self, plugin: object, name: str | None = None) -> str | None:
        """Register ``plugin`` after checking it against the hooks.

        :returns: the name it is registered under, or ``None`` if that name is
            blocked (as pluggy does).
        :raises PluginValidationError: naming the plugin, the hook and the
            nearest valid name, for a hookimpl named for no hook, an argument
            its hook lacks, a plain impl on a call (wrappers-only) hook, or a
            wrapper that is no generator; or for a plugin that cannot be
            inspected at all.
        :raises ValueError: for a plugin or name registered already.
        """
        if plugin is None:
            return None
        plugin_name = name or self.get_canonical_name(plugin)
        found = _validation.hookimpls_of(plugin_name, plugin, self.parse_hookimpl_opts)
        if not isinstance(plugin, (LegacyHook, _executor.CallCore)):
            problems = [
                problem
                for attr, hook_name, function, opts in found
                for problem in (
                    _validation.generic_problems(plugin_name, attr, opts)
                    if _foreign.is_foreign(self, hook_name)
                    else _validation.hookimpl_problems(plugin_name, attr, function, opts))
            ]
            if problems:
                raise PluginValidationError(plugin, "\n".join(problems))
        with self._lock:
            table = _pluggy.registered(self)
            if plugin_name in table:
                if table[plugin_name] is None:
                    return None  # blocked, as in pluggy
                raise ValueError(f"plugin name already registered: {plugin_name!r}")
            if id(plugin) in self._names_by_id:
                raise ValueError(f"plugin already registered under another name: {plugin!r}")
            table[plugin_name] = plugin
            self._names_by_id[id(plugin)] = plugin_name
            self._seq[plugin_name] = next(self._counter)
            made = [n for _a, n, _f, _o in found if getattr(self.hook, n, None) is None]
            try:
                impls, deferred = self._new_impls(plugin, plugin_name, found)
            except BaseException:  # no trace of it stays
                del table[plugin_name]
                self._names_by_id.pop(id(plugin), None)
                self._seq.pop(plugin_name, None)
                for hook_name in made:
                    with contextlib.suppress(AttributeError):
                        delattr(self.hook, hook_name)
                raise
            self.deferred.update(deferred)  # only once nothing can refuse the plugin
            hooks = []
            for hook, impl in impls:
                if self._bulk:  # stored, and ordered, once when the bulk ends
                    self._pending.setdefault(hook, []).append(impl)
                else:
                    _pluggy.set_impls(hook, [*hook.get_hookimpls(), impl])
                hooks.append(hook)
            _pluggy.track(self, plugin, hooks)
            if not self._bulk:  # a bulk orders, and replans, once at its end
                self._reorder(hooks)
        try:
            _foreign.replay_history(self, impls)
        except BaseException:
            self.unregister(plugin, plugin_name)
            raise
        return plugin_name

    def _new_impls(self, plugin: object, plugin_name: str, found: list[Any]) -> tuple[
            list[tuple[Any, Any]], dict[tuple[str, str], _deferral.Deferred]]:
        """pluggy's implementations of ``plugin``'s hookimpls, each with its hook caller,
        and the deferred observers among them, their job writers in place; nothing is
        registered yet (pluggy's checks of another project's hooks may still refuse)."""
        impls = []
        deferred = {}
        keys = self.keys(plugin_name)
        for _attr, hook_name, function, opts in found:
            hook = _pluggy.hook_caller(self, hook_name)
            impl = _pluggy.new_impl(plugin, plugin_name, function, opts)
            record = _deferral.put_job_writer(self.controls, keys, plugin, plugin_name,
                                              hook_name, impl)
            if record is not None:
                deferred[(plugin_name, hook_name)] = record
            if _foreign.is_foreign(self, hook_name):
                _foreign.verify(self, hook, impl)
            impls.append((hook, impl))
        return impls, deferred

    def unregister(self, plugin: object | None = None, name: str | None = None) -> Any:
        """Unregister a plugin and all of its hook implementations, as pluggy does."""
        with self._lock:
            if name is None:
                assert plugin is not None, "one of name or plugin needs to be specified"
                name = self.get_name(plugin)
                assert name is not None, "plugin is not registered"
            elif plugin is not None and (
                    (self.get_plugin(name) or plugin) is not plugin
                    or (self.get_name(plugin) or name) != name):
                raise ValueError(f"unregister: plugin {plugin!r} and name {name!r} do not agree")
            if plugin is None:
                plugin = self.get_plugin(name)
                if plugin is None:
                    return None
            changed = []
            # Subset hook callers (pluggy 0.13, 1.0) hold the plugin's impls too.
            subsets = [h for h in _pluggy.tracked(self, plugin)
                       if getattr(self.hook, h.name, None) is not h]
            for hook in [*_pluggy.hook_callers(self), *subsets]:
                impls = hook.get_hookimpls()
                kept = [impl for impl in impls if impl.plugin is not plugin]
                if len(kept) != len(impls):
                    _pluggy.set_impls(hook, kept)
                    changed.append(hook)
            table = _pluggy.registered(self)
            if table.get(name) is not None:
                del table[name]
            self._names_by_id.pop(id(plugin), None)
            _pluggy.track(self, plugin, None)
            self.plugin_infos.pop(name, None)
            self._seq.pop(name, None)
            self._placement.pop(name, None)
            self._origins.pop(name, None)
            for key in [k for k in self.deferred if k[0] == name]:
                del self.deferred[key]
            # What it imposed (before=/after=) goes with it: the others are ordered anew.
            self._reorder(changed)
        return plugin

    def get_plugins(self) -> set[Any]:
        """The registered plugins (nova_hookspec's own call cores left out)."""
        return {p for p in super().get_plugins() if not isinstance(p, _executor.CallCore)}

    def list_name_plugin(self) -> list[tuple[str, Any]]:
        """``(name, plugin)`` of each registered plugin (call cores left out)."""
        return [(n, p) for n, p in super().list_name_plugin()
                if not isinstance(p, _executor.CallCore)]

    def get_name(self, plugin: object) -> str | None:
        """The name ``plugin`` is registered under, found by identity.

        pluggy compares with ``==``, which runs a plugin's own ``__eq__``: a naive
        one (``return self.name == other.name``) raises on other objects.
        """
        return self._names_by_id.get(id(plugin))

    def is_registered(self, plugin: object) -> bool:
        """Whether ``plugin`` (this very object) is registered."""
        return id(plugin) in self._names_by_id

    def set_blocked(self, name: str) -> None:
        """Block a plugin name, as pluggy does."""
        with self._lock:
            super().set_blocked(name)
            self._changed()

    def parse_hookimpl_opts(self, plugin: object, name: str) -> Any:
        """The options of a hookimpl (nova_hookspec's marker or pluggy's), or ``None``.

        A manager made for another project also reads that project's marker
        (and, on pluggy 0.13, its ``implprefix``), as pluggy does.
        """
        if isinstance(plugin, LegacyHook):  # an adapter of ours: its marks are known
            return plugin.opts if name in plugin.hook_names else None
        opts = _markers.impl_opts(plugin, name)
        if opts is None and (self.project_name != PROJECT_NAME
                             or getattr(self, "_implprefix", None)):
            return super().parse_hookimpl_opts(plugin, name)  # pluggy's, as pluggy gives it
        return opts

    def parse_hookspec_opts(self, module_or_class: Any, name: str) -> Any:
        """pluggy's, plus nova_hookspec's own specifications on a manager made for
        another project."""
        opts = super().parse_hookspec_opts(module_or_class, name)
        if opts is None and self.project_name != PROJECT_NAME:
            try:  # a property is not run to look for a marker (as pluggy)
                static = inspect.getattr_static(module_or_class, name)
            except AttributeError:
                return None
            opts = getattr(static, f"{PROJECT_NAME}_spec", None)
        return opts

    # ------------------------------------------------------------ order

    def register_discovered(
        self, plugin: object, info: PluginInfo, placement: dict[str, str]
    ) -> None:
        """Register an entry-point plugin, placed by its discovery position."""
        with self._lock:
            self.plugin_infos[info.name] = info
            if placement:
                self._placement[info.name] = placement
            try:
                if self.register(plugin, info.name) is None:
                    raise ValueError(f"the name {info.name!r} is blocked")
            except BaseException:
                self.plugin_infos.pop(info.name, None)
                self._placement.pop(info.name, None)
                self._origins.pop(info.name, None)
                raise

    def load_point(self, point: _points.HookPoint) -> None:
        """Load the legacy classes of ``point`` if that was not done yet."""
        discoverer = self._discoverer
        if discoverer is not None and point.name in discoverer.report.pending:
            with self._lock:
                discoverer.load_point(point.name)

    def load_all(self) -> None:
        """Load every legacy class not loaded yet (for ``list`` and ``check``)."""
        if self._discoverer is not None:
            with self._lock:
                self._discoverer.load_all()

    def origin(self, plugin_name: str) -> _ordering.Origin:
        """Where ``plugin_name``'s place in the run order comes from (kept per plugin)."""
        known = self._origins.get(plugin_name)
        if known is not None:
            return known
        info = self.plugin_infos.get(plugin_name)
        made = self._origins[plugin_name] = _ordering.Origin(
            info.position if info else None,
            self._seq.get(plugin_name, 0),
            self._placement.get(plugin_name, {}),
        )
        return made

    def keys(self, plugin_name: str) -> frozenset[str]:
        """Every name an operator or another plugin may use for ``plugin_name``."""
        info = self.plugin_infos.get(plugin_name)
        if info is not None:
            return _controls.plugin_keys(info)
        return frozenset({plugin_name, _controls.name_key(plugin_name)})

    def rule(self, hook_name: str, impl: Any) -> str:
        """The rule that put ``impl`` where it is in ``hook_name``'s order."""
        explicit = self._rules.get(hook_name, {}).get(id(impl))
        if explicit:
            return explicit
        return _ordering.base_rule(impl, self.origin(impl.plugin_name), _point_of(hook_name))

    @contextlib.contextmanager
    def bulk(self) -> Iterator[None]:
        """Register many plugins, ordering every hook once at the end."""
        with self._lock:
            self._bulk += 1
            try:
                yield
            finally:
                self._bulk -= 1
                if not self._bulk:
                    pending, self._pending = self._pending, {}
                    for hook, impls in pending.items():
                        _pluggy.set_impls(hook, [*hook.get_hookimpls(), *impls])
                    self._reorder(pending)

    def _reorder(self, hooks: Any) -> None:
        for hook in hooks:
            point = _point_of(hook.name)
            placed, conflicts = _ordering.run_order(
                hook.get_hookimpls(), self.origin, point, self.controls.order_chains(point),
                self.keys)
            _pluggy.set_impls(hook, [p.impl for p in reversed(placed)])
            # Explicit rules only; the base order's are said when asked (rule()).
            self._rules[hook.name] = {id(p.impl): p.rule for p in placed if p.rule}
            for conflict in conflicts:
                _ordering.report_conflict(self._conflicts_reported, hook.name, conflict)
        self._changed()

    # ------------------------------------------------------------ calls

    @property
    def monitored(self) -> bool:
        """Whether hook-call monitoring (tracing) wraps the hook executor."""
        return _pluggy.executor(self) is not self._executor

    def add_hookcall_monitoring(self, before: Any, after: Any) -> Any:
        """As pluggy's; hooked calls then go through the monitored executor."""
        undo = super().add_hookcall_monitoring(before, after)
        self._changed()

        def undo_and_forget() -> None:
            undo()
            self._changed()

        return undo_and_forget

    def run_phase(self, plan: PhasePlan, hook_kwargs: dict[str, Any]) -> Any:
        """Run one phase through the hook executor (and any monitoring of it)."""
        return _pluggy.run(self, plan.hook_name, plan.impls, hook_kwargs, plan.firstresult)

    def _changed(self) -> None:
        self._dispatch.clear()
        if _source.STATE.current is self:
            _dispatch.invalidate()

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
            self.load_point(point)
            plans: list[PhasePlan | None] = []
            for phase in _points.PHASES:
                hook_name = point.hook_name(phase)
                impls = getattr(self.hook, hook_name).get_hookimpls()
                plugins = [i for i in impls if not is_core_impl(i)]
                plans.append(PhasePlan(hook_name, phase, impls) if plugins else None)
            pre, call, post = plans
            dispatch = Dispatch(pre, call, post, not self.monitored) if any(plans) else None
            self._dispatch[point.name] = dispatch
        return dispatch


def _point_of(hook_name: str) -> str:
    """The hook point a pluggy hook belongs to (its own name if none)."""
    located = _points.hook_phase(hook_name)
    return located[0].name if located else hook_name


def is_core_impl(impl: Any) -> bool:
    """Whether ``impl`` is Nova's callable rather than a plugin."""
    return isinstance(impl.plugin, _executor.CallCore)

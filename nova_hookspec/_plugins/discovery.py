"""Loading plugins from entry points: typed (``nova_hookspec``) and legacy (``nova.hooks``).

Our own loader, not pluggy's ``load_setuptools_entrypoints``:

* one scan of the installed distributions finds both groups, and imports
  nothing (:func:`nova_hookspec._seams.metadata.entry_points`);
* typed plugins are imported and registered at discovery; an entry point
  that names a typed plugin class (``inventory = acme:Inventory``) gets one
  instance of it per process, made with no argument (as Nova makes its
  ``nova.hooks`` classes, and stevedore's ``invoke_on_load``); legacy classes are
  imported per hook name when that hook point is first called (or listed or
  checked), as Nova did: nova-api never imports a compute-side plugin;
* everything a plugin or its distribution can do while being read, imported,
  constructed, inspected or registered - any exception short of
  ``KeyboardInterrupt``, ``SystemExit`` included - becomes one logged
  problem for that plugin, which is skipped; the others load and the hooked
  call goes on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Callable

from nova_hookspec._call import legacy as _legacy
from nova_hookspec._call.policy import describe_exception
from nova_hookspec._plugins import controls as _controls
from nova_hookspec._plugins import validation as _validation
from nova_hookspec._plugins.info import DiscoveryReport, PluginInfo, PluginKind, Problem, describe
from nova_hookspec._seams import metadata as _compat
from nova_hookspec._spec import points as _points
from nova_hookspec._spec.markers import LEGACY_GROUP, TYPED_GROUP

if TYPE_CHECKING:
    from nova_hookspec._plugins.manager import NovaPluginManager

log = logging.getLogger("nova_hookspec")

#: What a problem says of an entry point nova_hookspec refuses (not the plugin's failure).
REFUSED = "is no typed plugin"
#: The one instance per process of each typed plugin class named by an entry point.
_INSTANCES: dict[type, object] = {}

def _info(found: _compat.DistEntryPoint, kind: PluginKind, position: int) -> PluginInfo:
    ep = found.entry_point
    suffix = f"[{ep.name}]" if kind == "legacy" else ""
    return PluginInfo(
        name=f"{found.distribution or '?'}:{ep.value}{suffix}",
        kind=kind,
        group=ep.group,
        entry_point=f"{ep.name} = {ep.value}",
        value=ep.value,
        distribution=found.distribution,
        version=found.version,
        position=position,
    )


def _guarded(what: str, action: Callable[[], Any]) -> Any:
    """Run a plugin's code; anything it raises but ``KeyboardInterrupt`` is its failure."""
    try:
        return action()
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        raise _PluginFaultError(what, exc) from exc


class _PluginFaultError(Exception):
    def __init__(self, what: str, exc: BaseException) -> None:
        super().__init__(what)
        self.what = what
        self.exc = exc


class Discovery:
    """One process's entry-point plugins: scanned once, loaded as needed."""

    def __init__(self, pm: NovaPluginManager) -> None:
        self.pm = pm
        self.controls = pm.controls
        self.report = DiscoveryReport()

    def problem(self, info: PluginInfo, what: str, exc: BaseException) -> None:
        message = f"{describe(info)} {what}: {describe_exception(exc)}"
        self.report.problems.append(Problem(info, message))
        # nova_hookspec's own refusal of what the entry point names: one line, no traceback.
        own = what == REFUSED
        log.error("skipping plugin %r: %s", info.name, message, exc_info=None if own else _safe(exc))

    def scan(self) -> Iterator[tuple[PluginInfo, Any]]:
        """Every entry point of both groups, legacy first, with its info; none imported."""
        found = list(_compat.entry_points(LEGACY_GROUP, TYPED_GROUP))
        ordered = [f for f in found if f.entry_point.group == LEGACY_GROUP]
        ordered += [f for f in found if f.entry_point.group == TYPED_GROUP]
        for position, item in enumerate(ordered):
            kind: PluginKind = "legacy" if item.entry_point.group == LEGACY_GROUP else "typed"
            info = _info(item, kind, position)
            if item.problem:
                log.warning("plugin %r: distribution %s: %s; named after its folder",
                            info.name, info.distribution, item.problem)
            yield info, item.entry_point

    def allowed(self, info: PluginInfo) -> bool:
        refusal = self.controls.refusal(info)
        if refusal is None:
            return True
        self.report.blocked.append((info, refusal))
        log.info("not loading plugin %r (%s): %s", info.name, describe(info), refusal)
        return False

    def run(self) -> DiscoveryReport:
        """Scan; register the typed plugins; note the legacy classes per hook point."""
        started = time.perf_counter()
        scanned = list(self.scan())
        self.report.warnings = _controls.review(self.controls, [i for i, _ in scanned])
        with self.pm.bulk():
            for info, ep in scanned:
                if not self.allowed(info):
                    continue
                if info.kind == "typed":
                    self.load(info, ep)
                    continue
                try:
                    point = _points.declare(info.hook)
                    self.pm.ensure_point(point)
                except Exception as exc:  # noqa: BLE001 - a bad hook name is the plugin's fault
                    self.problem(info, "names no usable hook", exc)
                    continue
                self.report.pending.setdefault(point.name, []).append((info, ep))
        self.report.seconds = time.perf_counter() - started
        pending = sum(len(items) for items in self.report.pending.values())
        log.info(
            "nova_hookspec discovery: %d plugin(s) registered, %d legacy class(es) to load "
            "when their hook is first called, %d blocked, %d broken, in %.3f s",
            len(self.report.registered), pending, len(self.report.blocked),
            len(self.report.problems), self.report.seconds,
        )
        return self.report

    def load_point(self, point_name: str) -> None:
        """Import and register the legacy classes of one hook point (once)."""
        items = self.report.pending.pop(point_name, None)
        if not items:
            return
        with self.pm.bulk():
            for info, ep in items:
                self.load(info, ep)
        self.report.registered.sort(key=lambda i: i.position)
        log.info("nova_hookspec loaded %d legacy class(es) for hook point %r",
                 len(items), point_name)

    def load_all(self) -> None:
        """Import and register every legacy class not loaded yet (``list``, ``check``)."""
        for point_name in list(self.report.pending):
            self.load_point(point_name)

    def load(self, info: PluginInfo, ep: Any) -> None:
        """Import one entry point, adapt it if legacy, register it; log a failure."""
        try:
            loaded = _guarded("failed to load", ep.load)
            plugin = loaded
            if info.kind == "legacy":
                plugin = _guarded("could not be set up", lambda: _legacy.LegacyHook.from_entry_point(
                    info.hook, loaded))
            else:
                if isinstance(loaded, type) and _guarded(
                        REFUSED, lambda: _validation.check_typed_class(
                            loaded, self.pm.parse_hookimpl_opts)):
                    plugin = _guarded("could not be instantiated", lambda: _instance(loaded))
                _guarded(REFUSED, lambda: _validation.check_typed_plugin(
                    plugin, self.pm.parse_hookimpl_opts))
                known = self.pm.get_name(plugin)
                if known is not None:  # one module named by two distributions, say
                    self.report.duplicates.append((info, known))
                    log.info("plugin %r (%s) is the object already registered as %r; "
                             "registered once", info.name, describe(info), known)
                    return
            placement = self.controls.placement(info)
            _guarded("was not registered",
                     lambda: self.pm.register_discovered(plugin, info, placement))
        except _PluginFaultError as fault:
            self.problem(info, fault.what, fault.exc)
            return
        self.report.registered.append(info)


def _instance(cls: type) -> object:
    """The process's one instance of a typed plugin class (made on first use)."""
    if cls not in _INSTANCES:
        _INSTANCES[cls] = cls()
    return _INSTANCES[cls]


def _safe(exc: BaseException) -> BaseException | None:
    try:
        str(exc).encode("utf-8")
    except Exception:  # noqa: BLE001 - a broken __str__ (or surrogates) would break the record
        return None
    return exc


def discover(pm: NovaPluginManager) -> Discovery:
    """Scan the entry points for ``pm``: register typed plugins, note legacy classes.

    Discovery order: the ``nova.hooks`` group first (as Nova ran them), then
    the ``nova_hookspec`` group, each in ``sys.path`` order of the
    distributions and file order within one.
    """
    discovery = Discovery(pm)
    discovery.run()
    return discovery

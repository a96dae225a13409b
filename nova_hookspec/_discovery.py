"""Loading plugins from entry points: typed (``nova_hookspec``) and legacy (``nova.hooks``).

Our own loader, not pluggy's ``load_setuptools_entrypoints``: a plugin that
fails to import, to instantiate or to validate is logged with its entry
point and the reason, and skipped; the others load and the process goes on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata
from typing import TYPE_CHECKING, Literal

from nova_hookspec import _controls, _legacy
from nova_hookspec._markers import LEGACY_GROUP, TYPED_GROUP

if TYPE_CHECKING:
    from nova_hookspec._manager import NovaPluginManager

log = logging.getLogger("nova_hookspec")

PluginKind = Literal["typed", "legacy"]


@dataclass(frozen=True)
class PluginInfo:
    """Where a discovered plugin came from.

    :param name: the name it is registered under.
    :param kind: ``"typed"`` or ``"legacy"``.
    :param group: its entry-point group.
    :param entry_point: ``name = module:attr`` as declared.
    :param value: ``module:attr``.
    :param distribution: the distribution that declares it, if known.
    :param version: that distribution's version, if known.
    :param position: its place in discovery order (0 first).
    """

    name: str
    kind: PluginKind
    group: str
    entry_point: str
    value: str
    distribution: str | None
    version: str | None
    position: int


@dataclass(frozen=True)
class Problem:
    """A plugin that could not be loaded or registered, and why."""

    info: PluginInfo
    message: str


@dataclass
class DiscoveryReport:
    """What one discovery did: registered, blocked and broken plugins."""

    registered: list[PluginInfo] = field(default_factory=list)
    blocked: list[tuple[PluginInfo, str]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class _Found:
    info: PluginInfo
    plugin: object
    trylast: bool


def _entry_points(group: str) -> Iterator[metadata.EntryPoint]:
    yield from metadata.entry_points(group=group)


def _info(
    ep: metadata.EntryPoint,
    kind: PluginKind,
    position: int,
    dists: dict[int, tuple[object, str | None, str | None]],
) -> PluginInfo:
    dist = getattr(ep, "dist", None)
    if dist is None:
        dist_name, version = None, None
    elif id(dist) in dists:
        # The cache holds the distribution object itself, so its id is not reused.
        _, dist_name, version = dists[id(dist)]
    else:  # reading METADATA is the costly part: once per distribution
        meta = dist.metadata
        dist_name, version = meta["Name"], meta["Version"]
        dists[id(dist)] = (dist, dist_name, version)
    suffix = f"[{ep.name}]" if kind == "legacy" else ""
    return PluginInfo(
        name=f"{dist_name or '?'}:{ep.value}{suffix}",
        kind=kind,
        group=ep.group,
        entry_point=f"{ep.name} = {ep.value}",
        value=ep.value,
        distribution=dist_name,
        version=version,
        position=position,
    )


def describe(info: PluginInfo) -> str:
    """``entry point 'name = value' in group 'G' of distribution D``."""
    dist = f" of distribution {info.distribution}" if info.distribution else ""
    return f"entry point {info.entry_point!r} in group {info.group!r}{dist}"


class _Discovery:
    def __init__(self, pm: NovaPluginManager) -> None:
        self.pm = pm
        self.controls = _controls.current()
        self.report = DiscoveryReport()
        self.position = 0
        self.dists: dict[int, tuple[object, str | None, str | None]] = {}

    def problem(self, info: PluginInfo, what: str, exc: BaseException) -> None:
        message = f"{describe(info)} {what}: {type(exc).__name__}: {exc}"
        self.report.problems.append(Problem(info, message))
        log.error("skipping plugin %r: %s", info.name, message, exc_info=exc)

    def entries(self, group: str, kind: PluginKind) -> Iterator[tuple[PluginInfo, object]]:
        for ep in _entry_points(group):
            info = _info(ep, kind, self.position, self.dists)
            self.position += 1
            refusal = self.controls.refusal(info.distribution, info.value)
            if refusal is not None:
                self.report.blocked.append((info, refusal))
                log.info("not loading plugin %r (%s): %s", info.name, describe(info), refusal)
                continue
            try:
                loaded: object = ep.load()
            except BaseException as exc:
                if isinstance(exc, KeyboardInterrupt):
                    raise
                self.problem(info, "failed to load", exc)
                continue
            yield info, loaded

    def run(self) -> DiscoveryReport:
        started = time.perf_counter()
        found: list[_Found] = []
        for info, cls in self.entries(LEGACY_GROUP, "legacy"):
            hook = info.entry_point.split(" = ", 1)[0]
            try:
                adapter = _legacy.LegacyHook.from_entry_point(hook, cls, info.value)
            except Exception as exc:  # noqa: BLE001 - a plugin fault: logged, skipped
                self.problem(info, "could not be set up", exc)
                continue
            found.append(_Found(info, adapter, adapter.trylast))
        for info, plugin in self.entries(TYPED_GROUP, "typed"):
            found.append(_Found(info, plugin, self.pm.has_trylast_impl(plugin)))
        # pluggy runs the latest registered first, except among trylast impls.
        ordered = [f for f in found if f.trylast] + [f for f in reversed(found) if not f.trylast]
        for item in ordered:
            try:
                self.pm.register(item.plugin, item.info.name)
            except Exception as exc:  # noqa: BLE001 - a plugin fault: logged, skipped
                self.problem(item.info, "was not registered", exc)
                continue
            self.pm.plugin_infos[item.info.name] = item.info
        self.report.registered = sorted(self.pm.plugin_infos.values(), key=lambda i: i.position)
        self.report.seconds = time.perf_counter() - started
        log.info(
            "nova_hookspec discovery: %d plugin(s) registered, %d blocked, %d broken, in %.3f s",
            len(self.report.registered), len(self.report.blocked), len(self.report.problems),
            self.report.seconds,
        )
        return self.report


def discover(pm: NovaPluginManager) -> DiscoveryReport:
    """Register every loadable, allowed entry-point plugin with ``pm``.

    Discovery order: the ``nova.hooks`` group first (as Nova ran them), then
    the ``nova_hookspec`` group, each in importlib.metadata's order. Plugins
    are registered so that, within each tryfirst / plain / trylast class, they
    run in discovery order.
    """
    return _Discovery(pm).run()

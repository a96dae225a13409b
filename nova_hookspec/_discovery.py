"""Loading plugins from entry points: typed (``nova_hookspec``) and legacy (``nova.hooks``).

Our own loader, not pluggy's ``load_setuptools_entrypoints``: a plugin that
fails to import, to instantiate or to validate is logged with its entry
point and the reason, and skipped; the others load and the process goes on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING, Literal

from nova_hookspec import _legacy
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


@dataclass
class _Found:
    info: PluginInfo
    plugin: object
    trylast: bool


def _entry_points(group: str) -> Iterator[metadata.EntryPoint]:
    yield from metadata.entry_points(group=group)


def _info(ep: metadata.EntryPoint, kind: PluginKind, position: int) -> PluginInfo:
    dist = getattr(ep, "dist", None)
    dist_name = dist.name if dist is not None else None
    suffix = f"[{ep.name}]" if kind == "legacy" else ""
    return PluginInfo(
        name=f"{dist_name or '?'}:{ep.value}{suffix}",
        kind=kind,
        group=ep.group,
        entry_point=f"{ep.name} = {ep.value}",
        value=ep.value,
        distribution=dist_name,
        version=dist.version if dist is not None else None,
        position=position,
    )


def _describe(info: PluginInfo) -> str:
    dist = f" of distribution {info.distribution}" if info.distribution else ""
    return f"entry point {info.entry_point!r} in group {info.group!r}{dist}"


def _load(ep: metadata.EntryPoint, info: PluginInfo) -> object | None:
    try:
        loaded: object = ep.load()
        return loaded
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        log.error(
            "skipping plugin %r: %s failed to load: %s: %s",
            info.name, _describe(info), type(exc).__name__, exc, exc_info=exc,
        )
        return None


def discover(pm: NovaPluginManager) -> int:
    """Register every loadable entry-point plugin with ``pm``; return how many.

    Discovery order: the ``nova.hooks`` group first (as Nova ran them), then
    the ``nova_hookspec`` group, each in importlib.metadata's order. Plugins
    are registered so that, within each tryfirst / plain / trylast class, they
    run in discovery order.
    """
    started = time.perf_counter()
    found: list[_Found] = []
    for ep in _entry_points(LEGACY_GROUP):
        info = _info(ep, "legacy", len(found))
        cls = _load(ep, info)
        if cls is None:
            continue
        try:
            adapter = _legacy.LegacyHook.from_entry_point(ep.name, cls, info.value)
        except Exception as exc:
            log.error(
                "skipping plugin %r: %s could not be set up: %s: %s",
                info.name, _describe(info), type(exc).__name__, exc, exc_info=exc,
            )
            continue
        found.append(_Found(info, adapter, adapter.trylast))
    for ep in _entry_points(TYPED_GROUP):
        info = _info(ep, "typed", len(found))
        plugin = _load(ep, info)
        if plugin is None:
            continue
        found.append(_Found(info, plugin, pm.has_trylast_impl(plugin)))
    # pluggy runs the latest registered first, except among trylast impls.
    ordered = [f for f in found if f.trylast] + [f for f in reversed(found) if not f.trylast]
    registered = 0
    for item in ordered:
        try:
            pm.register(item.plugin, item.info.name)
        except Exception as exc:
            log.error(
                "skipping plugin %r: %s was not registered: %s",
                item.info.name, _describe(item.info), exc, exc_info=exc,
            )
            continue
        pm.plugin_infos[item.info.name] = item.info
        registered += 1
    log.info(
        "nova_hookspec discovery: %d plugin(s) registered, %d skipped, in %.3f s",
        registered, len(found) - registered, time.perf_counter() - started,
    )
    return registered

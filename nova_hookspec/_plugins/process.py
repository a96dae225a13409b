"""The one process-wide plugin manager: built on first use, with discovery.

Discovery happens once per process, lazily on first use, and exactly once
when many threads make the first call together. ``reset()`` drops every
plugin; the next use discovers again. The manager is installed as the call
model's plan source (:mod:`nova_hookspec._call.source`), which is where the
current one is kept.
"""

from __future__ import annotations

import logging
import threading
from typing import cast

from nova_hookspec._call import source as _source
from nova_hookspec._call import tracing as _tracing
from nova_hookspec._call.source import STATE
from nova_hookspec._plugins import controls as _controls
from nova_hookspec._plugins import discovery as _discovery
from nova_hookspec._plugins.manager import NovaPluginManager

__all__ = ["STATE", "declare_point", "get_plugin_manager", "reset"]

log = logging.getLogger("nova_hookspec")

_lock = threading.RLock()

#: Declare a hook point in the live manager too (the call model's, re-exported).
declare_point = _source.declare_point


def get_plugin_manager() -> NovaPluginManager:
    """The process-wide plugin manager, with entry-point discovery done.

    The first call discovers plugins; concurrent first calls wait for that one
    discovery. A plugin that calls back into nova_hookspec while being loaded
    gets the manager under construction.
    """
    pm = STATE.current
    if pm is not None:
        return cast(NovaPluginManager, pm)
    return _build()


def _build() -> NovaPluginManager:
    with _lock:
        if STATE.current is not None:
            return cast(NovaPluginManager, STATE.current)
        if STATE.building is not None:  # re-entered from a plugin being loaded
            return cast(NovaPluginManager, STATE.building)
        pm = NovaPluginManager()
        STATE.building = pm
        pm.controls = _controls.current()
        _tracing.enable_if(pm, pm.controls.trace)
        try:
            pm._discoverer = _discovery.discover(pm)
            pm.discovery = pm._discoverer.report
        except Exception:
            log.exception("nova_hookspec discovery failed; the plugins registered so far run, "
                          "the others are skipped (nova-hookspec check says more)")
        finally:
            STATE.building = None
        STATE.current = pm
        return pm


def reset() -> None:
    """Drop every plugin, discovered or registered; the next use rediscovers."""
    with _lock:
        STATE.current = None


_source.provide(get_plugin_manager)

"""What ``nova-hookspec check`` says of the deferred hooks: which, the journal's
health and, with a broker between hosts, whether it answers.

The journal is not created by looking at it: a missing file is healthy when
its folder is writable (the first deferred job creates it), and unhealthy
when the hooked calls could not create it (they would then run the
deferred plugins in the call, with an ERROR line each).
"""

from __future__ import annotations

import os
from typing import Any

from nova_hookspec._plugins.manager import NovaPluginManager
from nova_hookspec.deferred import settings


def _writable(path: str) -> str | None:
    """Why the journal at ``path`` cannot be written, or ``None``."""
    if os.path.isdir(path):
        return "it is a directory"
    if os.path.exists(path):
        return None if os.access(path, os.R_OK | os.W_OK) else "no read/write permission"
    folder = os.path.dirname(os.path.abspath(path))
    while folder and not os.path.isdir(folder):
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    return None if os.access(folder, os.W_OK | os.X_OK) else f"cannot create it in {folder}"


def report(pm: NovaPluginManager) -> dict[str, Any]:
    """The ``deferred`` part of ``check --json``."""
    plugins = [{"plugin": d.plugin, "hook": d.hook, "legacy": d.legacy}
               for d in sorted(pm.deferred.values(), key=lambda d: (d.plugin, d.hook))]
    try:
        found = settings.current()
    except ValueError as exc:
        return {"plugins": plugins, "journal": None, "healthy": False, "problem": str(exc),
                "pending": None, "dead": None}
    problem = _writable(found.journal)
    pending = dead = None
    if problem is None and os.path.exists(found.journal):
        from nova_hookspec.deferred.brokers.journal import Journal

        try:
            status = Journal(found.journal, found.journal_sync).status()
            pending, dead = status["pending"] + status["running"], status["dead"]
        except Exception as exc:  # noqa: BLE001 - a corrupt or locked file: say so
            problem = f"{type(exc).__name__}: {exc}"
    return {"plugins": plugins, "journal": found.journal, "healthy": problem is None,
            "problem": problem, "pending": pending, "dead": dead,
            "broker": _broker(found) if plugins else None}


def _broker(found: settings.Settings) -> dict[str, Any] | None:
    """With a broker between hosts: whether it answers, and its dead letters."""
    from nova_hookspec.deferred.brokers.rabbit import configured

    try:
        rabbit = configured(found)
    except (ValueError, ImportError) as exc:
        return {"broker": None, "reachable": False, "problem": str(exc), "dead": None}
    if rabbit is None:
        return None
    where = rabbit.broker
    try:
        with rabbit.channel() as channel:
            dead = rabbit.depth(channel, rabbit.dead_queue)[0]
    except Exception as exc:  # noqa: BLE001 - unreachable, or kombu missing: say so
        return {"broker": where.shown, "reachable": False, "dead": None,
                "problem": str(exc) if isinstance(exc, ConnectionError) else
                f"{type(exc).__name__}: {exc}"}
    return {"broker": where.shown, "reachable": True, "dead": dead, "problem": None}

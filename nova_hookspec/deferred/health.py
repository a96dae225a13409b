"""What ``nova-hookspec check`` says of the deferred hooks: which, the policy
each one's runs follow (``max_attempts``, the backoffs, ``time_limit``, and
where each value came from: :mod:`.middleware.overrides`), the journal's
health and, with a broker between hosts, whether it answers and whether this
host agrees with the live workers (``broker_lanes``, the plugins deferred
here that no worker runs: :mod:`.presence`).

The journal is not created by looking at it: a missing file is healthy when
its folder is writable (the first deferred job creates it), and unhealthy
when the worker could not create it. The hooked calls write to the spool
folder beside it (:mod:`.spool`): when that cannot be made or written, they
would run the deferred plugins in the call, with an ERROR line each. So the
disk under them is unhealthy too when it is full: less than :data:`MIN_FREE`
bytes free to an unprivileged writer (``statvfs``; nothing is written to
find out). A full disk was said "ok" while a running worker's journal could
still be read, yet no job could be spooled and no outcome recorded.
"""

from __future__ import annotations

import os
from typing import Any

from nova_hookspec._plugins.manager import NovaPluginManager
from nova_hookspec.deferred import settings, spool
from nova_hookspec.deferred.brokers import journal_ids
from nova_hookspec.deferred.middleware import overrides

#: Bytes free under the journal and its spool below which ``check`` says the disk is
#: full: a spooled job and a journal commit (its WAL pages) take a few KiB each.
MIN_FREE = 1024 * 1024


def _full(path: str) -> str | None:
    """Why the disk under ``path`` (or its nearest existing folder) is full, or ``None``."""
    folder = os.path.abspath(path)
    while not os.path.isdir(folder) and os.path.dirname(folder) != folder:
        folder = os.path.dirname(folder)
    try:
        found = os.statvfs(folder)
    except OSError:
        return None  # said by the other checks (no such folder, no permission)
    free = found.f_bavail * found.f_frsize
    if free >= MIN_FREE:
        return None
    return (f"the disk of {folder} is full ({free} bytes free, less than {MIN_FREE}): no "
            "job can be spooled and no outcome recorded")


def _writable(path: str) -> str | None:
    """Why the journal at ``path`` cannot be written, or ``None``."""
    if os.path.isdir(path):
        return "it is a directory"
    if os.path.exists(path):
        return None if os.access(path, os.R_OK | os.W_OK) else "no read/write permission"
    folder = os.path.dirname(os.path.abspath(path))
    while folder and not os.path.isdir(folder):
        if os.path.exists(folder):  # a file where a folder should be: nothing made there
            return f"{folder} is not a folder"
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    return None if os.access(folder, os.W_OK | os.X_OK) else f"cannot create it in {folder}"


def _spool_usable(folder: str) -> str | None:
    """Why the hooked calls could not write to the spool ``folder``, or ``None``."""
    if os.path.isdir(folder):
        return None if os.access(folder, os.W_OK | os.X_OK) else "no write permission"
    if os.path.exists(folder):
        return "it is not a folder"
    return _writable(folder)


def report(pm: NovaPluginManager) -> dict[str, Any]:
    """The ``deferred`` part of ``check --json``."""
    records = sorted(pm.deferred.values(), key=lambda d: (d.plugin, d.hook))
    plugins = [{"plugin": d.plugin, "hook": d.hook, "legacy": d.legacy} for d in records]
    try:
        found = settings.current()
    except ValueError as exc:
        return {"plugins": plugins, "journal": None, "healthy": False, "problem": str(exc),
                "pending": None, "dead": None}
    problem = None
    for record, shown in zip(records, plugins):
        try:  # what applies to its runs, and where each value came from
            shown["policy"] = overrides.resolve(record, found).shown()
        except ValueError as exc:
            shown["policy"] = None
            problem = problem or str(exc)
    problem = problem or _writable(found.journal)
    if problem is None and not os.path.exists(found.journal):  # an existing one: opened
        try:
            journal_ids.floor(found.journal)
        except journal_ids.DamagedMark as exc:
            problem = str(exc)
    folder = spool.folder_of(found.journal)
    if problem is None and _spool_usable(folder) is not None:
        problem = f"its spool {folder}: {_spool_usable(folder)}"
    problem = problem or _full(found.journal) or _full(folder)
    pending = dead = None
    if problem is None and not os.path.exists(found.journal) and os.path.isdir(folder):
        pending = len(spool.waiting(folder, {}))  # written, never collected yet
    if problem is None and os.path.exists(found.journal):
        from nova_hookspec.deferred.brokers.journal import Journal

        try:
            status = Journal(found.journal, found.journal_sync).status()
            pending, dead = status["pending"] + status["running"], status["dead"]
        except Exception as exc:  # noqa: BLE001 - a corrupt or locked file: say so
            problem = f"{type(exc).__name__}: {exc}"
    return {"plugins": plugins, "journal": found.journal, "healthy": problem is None,
            "problem": problem, "pending": pending, "dead": dead,
            "broker": _broker(found, sorted({d.plugin for d in records})) if plugins else None}


def policy_text(item: dict[str, Any]) -> str:
    """One deferred observer's policy, as ``check`` prints it after its name."""
    policy = item.get("policy")
    if not policy:
        return ""
    return ": " + ", ".join(f"{name} {shown['value']:g} ({shown['source']})"
                            for name, shown in policy.items())


def _broker(found: settings.Settings, deferred: list[str]) -> dict[str, Any] | None:
    """With a broker between hosts: whether it answers, its dead letters, and what
    this host's settings and ``deferred`` plugins disagree on with the live workers'
    (:mod:`.presence`: ``disagreements``, each one line)."""
    import socket

    from nova_hookspec._plugins import config as _config
    from nova_hookspec.deferred import presence
    from nova_hookspec.deferred.brokers.rabbit import configured

    try:
        rabbit = configured(found)
    except (ValueError, ImportError) as exc:
        return {"broker": None, "reachable": False, "problem": str(exc), "dead": None}
    if rabbit is None:
        return None
    where = rabbit.broker
    try:
        conn = rabbit.connect()
        try:
            channel = conn.channel()
            rabbit.declare(channel)
            dead = rabbit.depth(channel, rabbit.dead_queue)[0]
            records = presence.read(rabbit, conn)
        finally:
            conn.release()
    except Exception as exc:  # noqa: BLE001 - unreachable, or kombu missing: say so
        return {"broker": where.shown, "reachable": False, "dead": None,
                "problem": str(exc) if isinstance(exc, ConnectionError) else
                f"{type(exc).__name__}: {exc}", "disagreements": []}
    host = _config.raw_option("DEFAULT", "host") or socket.gethostname()
    return {"broker": where.shown, "reachable": True, "dead": dead, "problem": None,
            "disagreements": presence.problems(rabbit.lanes, host, deferred, records)}

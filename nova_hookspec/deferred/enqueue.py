"""What the hooked call runs in a deferred observer's place: it writes the job.

The call's arguments the observer asks for are carried (:mod:`.carry`) and
appended to this process's spool file (:mod:`.spool`) before the hooked
call returns: no lock, no other process waited on, no SQLite in the Nova
process; the worker and the relay collect it into the host's journal. The job's
order keys are the instances the call was about (``instance``, or the
instances ``create_instance`` returned); a call about none has one key for
the plugin alone, so such jobs run one after another.

If the job cannot be written (the spool's disk is full or unwritable, a
value cannot be carried, a setting is refused), the observer runs now, in
the call, and an ERROR line says so: a deferred observer is never dropped.
If it then fails (``Retry`` and ``FatalHookException`` included) an ERROR
line says the job is lost; the Nova call goes on.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from nova_hookspec._call.policy import describe_exception
from nova_hookspec._plugins import config as _config
from nova_hookspec._plugins import deferral as _deferral
from nova_hookspec.deferred import carry, settings, spool
from nova_hookspec.deferred.jobs import Retry

if TYPE_CHECKING:
    from nova_hookspec.deferred.broker import Store
    from nova_hookspec.deferred.brokers.journal import Journal

log = logging.getLogger("nova_hookspec")

_lock = threading.Lock()
_journal: list[Journal] = []
_writer: list[spool.Writer] = []
#: A store with no spool (the in-memory stub of the tests), written directly.
_direct: list[Store] = []


def journal() -> Journal:
    """This host's journal, for the worker side (opened on first use, from
    :mod:`.settings`); the hooked calls never open it."""
    if not _journal:
        with _lock:
            if not _journal:
                # sqlite3 is imported with the first job, not with nova_hookspec.
                from nova_hookspec.deferred.brokers.journal import Journal

                found = settings.current()
                _journal.append(Journal(found.journal, found.journal_sync))
    return _journal[0]


def use(store: Journal | Store | None) -> None:
    """Use ``store`` from now on: a journal's spool for the jobs, or a store that has
    no spool (:mod:`.backends.stub`) directly; ``None``: the configured journal on
    next use."""
    with _lock:
        spooled = store is not None and getattr(store, "spool", None) is not None
        _journal[:] = [cast("Journal", store)] if spooled else []
        _direct[:] = [cast("Store", store)] if store is not None and not spooled else []
        for old in _writer:
            old.close()
        _writer.clear()


def writer() -> spool.Writer:
    """This process's spool writer, for the journal in use (:func:`use`) or configured."""
    if not _writer:
        with _lock:
            if not _writer:
                if _journal:
                    path, sync = _journal[0].path, _journal[0].sync
                else:
                    found = settings.current()
                    path, sync = found.journal, found.journal_sync
                host = _config.raw_option("DEFAULT", "host")
                _writer.append(spool.Writer(spool.folder_of(path), sync, host))
    return _writer[0]


def write(plugin: str, hook: str, keys: list[str], payload: str, meta: dict[str, Any]) -> None:
    """Keep one job durably (``journal_sync``) in this process's spool file before
    returning.

    The one way a job is written, from a hooked call or from any other source
    (a reconcile pass): ``keys`` are the instances it is about (its order),
    ``payload`` the carried arguments (:func:`.carry.dumps`), ``meta`` what the
    relay needs to route it (:func:`meta`, plus e.g. ``{"source": "reconcile"}``).
    Raises what the store raised: the caller decides what a failed write means.
    """
    if _direct:
        _direct[0].enqueue(plugin, hook, keys, payload, json.dumps(meta))
        return
    writer().write(plugin, hook, keys, payload, meta)


def _field(obj: Any, name: str) -> Any:
    """``obj.name`` (or ``obj[name]``), ``None`` when unset: never raises (an unset
    field of a Nova object raises when read)."""
    try:
        value = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
    except Exception:  # noqa: BLE001 - an object field not loaded: as good as unset
        return None
    return value


def _uuid(obj: Any) -> str | None:
    value = _field(obj, "uuid")
    return str(value) if value else None


def order_keys(values: dict[str, Any]) -> list[str]:
    """The instances a call was about, by UUID."""
    found = [_uuid(values.get("instance"))]
    result = values.get("result")
    if isinstance(result, tuple) and result and isinstance(result[0], list):
        found.extend(_uuid(i) for i in result[0])  # API.create: (instances, reservation_id)
    return sorted({key for key in found if key})


def meta(values: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    """What the relay needs to route a job between hosts: its lane key and, for a
    delete, the instance's ``created_at`` (seconds since the epoch).

    The lane key is the job's first instance UUID (``keys`` are sorted), never a
    field that may be empty: every job of one instance goes to one lane, whatever
    else its object carries (a ``reservation_id`` left empty on a delete sent it to
    another lane than its create). A multi-create's one job goes to the lane of its
    first instance; the runner that ran it leaves a receipt in the lane of each of
    its instances (:mod:`.consumer`), so their deletes do not wait ``create_wait``."""
    found: dict[str, Any] = {}
    instance = values.get("instance")
    if keys:
        found["lane"] = keys[0]
    created = _field(instance, "created_at") if instance is not None else None
    if created is not None:
        stamp = getattr(created, "timestamp", None)
        if callable(stamp):
            if getattr(created, "tzinfo", True) is None:  # Nova's naive datetimes are UTC
                import datetime

                created = created.replace(tzinfo=datetime.timezone.utc)
            found["created_at"] = float(created.timestamp())
        elif isinstance(created, (int, float)):
            found["created_at"] = float(created)
    return found


def _run_inline(deferred: _deferral.Deferred, own: dict[str, Any]) -> None:
    """Run ``deferred``'s observer in the call, its job unwritable: its failure is
    logged, never the Nova call's (a ``FatalHookException`` included: a post
    observer comes after the call's work); there is no retry, the job is lost."""
    late = {"delivery": None} if "delivery" in deferred.names else {}
    try:
        deferred.function(**own, **late)
    except Exception as exc:  # noqa: BLE001 - the Nova call goes on
        asked = ("asked for a retry, which cannot happen in the call"
                 if isinstance(exc, Retry) else "failed")
        log.error("nova_hookspec: plugin %r, hook %r: the deferred job, run in the call as "
                  "it could not be written, %s (%s); it is not retried: the job is lost and "
                  "the Nova call goes on", deferred.plugin, deferred.hook, asked,
                  describe_exception(exc))


def make(deferred: _deferral.Deferred) -> Callable[..., None]:
    """The job writer for ``deferred``: called with the values of its carried
    arguments, then those of :attr:`~nova_hookspec._plugins.deferral.Deferred.extra`."""
    carried = deferred.carried

    def write_job(*values: Any) -> None:
        given = dict(zip((*carried, *deferred.extra), values))
        keys = order_keys(given)
        own = {name: given[name] for name in carried if name in given}
        written = dict(own)
        secret = given.get("admin_password")
        if secret and isinstance(own.get("args"), tuple):  # Nova passes it by position too
            written["args"] = tuple(None if value is secret or value == secret else value
                                    for value in own["args"])
        try:
            payload = carry.dumps(written)
            write(deferred.plugin, deferred.hook, keys, payload, meta(given, keys))
        except Exception as exc:  # noqa: BLE001 - the job runs now instead: nothing is dropped
            log.error("nova_hookspec: plugin %r, hook %r: the deferred job could not be "
                      "written (%s: %s); it runs now, in the call", deferred.plugin,
                      deferred.hook, type(exc).__name__, exc)
            _run_inline(deferred, own)

    write_job.__name__ = f"write_job_of_{deferred.hook}"
    return write_job

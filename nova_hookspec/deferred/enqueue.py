"""What the hooked call runs in a deferred observer's place: it writes the job.

The call's arguments the observer asks for are carried (:mod:`.carry`) and
committed to this host's journal before the hooked call returns. The job's
order keys are the instances the call was about (``instance``, or the
instances ``create_instance`` returned); a call about none has one key for
the plugin alone, so such jobs run one after another.

If the job cannot be written (the journal's disk is full or unwritable, a
value cannot be carried), the observer runs now, in the call, and an ERROR
line says so: a deferred observer is never dropped.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nova_hookspec._plugins import deferral as _deferral
from nova_hookspec.deferred import carry, settings

if TYPE_CHECKING:
    from nova_hookspec.deferred.brokers.journal import Journal

log = logging.getLogger("nova_hookspec")

_lock = threading.Lock()
_journal: list[Journal] = []


def journal() -> Journal:
    """This process's journal (opened on first use, from :mod:`.settings`)."""
    if not _journal:
        with _lock:
            if not _journal:
                # sqlite3 is imported with the first job, not with nova_hookspec.
                from nova_hookspec.deferred.brokers.journal import Journal

                found = settings.current()
                _journal.append(Journal(found.journal, found.journal_sync))
    return _journal[0]


def use(store: Journal | None) -> None:
    """Use ``store`` from now on (``None``: open the configured one on next use)."""
    with _lock:
        _journal[:] = [store] if store is not None else []


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
    """What the relay needs to route a job between hosts: its lane key (the
    instance's ``reservation_id``, so that the instances of one multi-create
    and their later jobs share a lane) and, for a delete, the instance's
    ``created_at`` (seconds since the epoch)."""
    found: dict[str, Any] = {}
    instance = values.get("instance")
    result = values.get("result")
    if isinstance(result, tuple) and len(result) > 1 and isinstance(result[1], str):
        found["lane"] = result[1]  # API.create: (instances, reservation_id)
    elif instance is not None and _field(instance, "reservation_id"):
        found["lane"] = str(_field(instance, "reservation_id"))
    elif keys:
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
            journal().enqueue(deferred.plugin, deferred.hook, keys, payload,
                              json.dumps(meta(given, keys)))
        except Exception as exc:  # noqa: BLE001 - the job runs now instead: nothing is dropped
            log.error("nova_hookspec: plugin %r, hook %r: the deferred job could not be "
                      "written (%s: %s); it runs now, in the call", deferred.plugin,
                      deferred.hook, type(exc).__name__, exc)
            late = {"delivery": None} if "delivery" in deferred.names else {}
            deferred.function(**own, **late)

    write_job.__name__ = f"write_job_of_{deferred.hook}"
    return write_job

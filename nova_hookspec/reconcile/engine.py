"""One reconcile pass: the drift of each plugin, and its jobs queued.

Level-triggered, as a Kubernetes controller: the desired state is what Nova
holds (:mod:`.nova`), the actual state what the plugin's external system
holds (its ``known_instances`` hook, else the record of what its deferred
jobs delivered, :mod:`nova_hookspec.deferred.delivered`). What is missing
gets the plugin's ``create_instance_post``, what is stale its
``delete_instance_post``, as jobs written by
:func:`nova_hookspec.deferred.enqueue.write` - the one way a job is written,
so they take the same lanes and order rules as the jobs of hooked calls: a
reconcile job of an instance runs after any of its jobs already queued.

The order of a pass, and why:

1. every plugin's listing first, then Nova's: whatever a plugin holds was
   created in Nova before Nova's listing began, so an instance created
   during the pass is never judged stale;
2. Nova's listing whole (every page) before anything is judged: a failed or
   cut listing raises :class:`~.nova.ListingError` and nothing is queued;
3. an instance created, updated or deleted within ``grace`` of the pass's
   start is not judged (it may have hooks in flight);
4. the deletes of the pass over ``max_deletes`` (default
   :data:`MAX_DELETES`) refuse the whole pass (:class:`TooManyDeletes`)
   unless forced: a wrong listing never turns into mass deletes;
5. a pass whose Nova listing is empty while it would queue deletes is refused
   too, whatever their number, unless forced: an empty listing is far more
   often a wrong cloud, region or scope than an empty cloud (a cloud of a few
   instances would otherwise lose them all under the bound).

Defaults: :data:`MAX_DELETES`, :data:`GRACE` seconds, :data:`LOOKBACK`
seconds of deleted instances asked for the last state of a stale entry.
"""

from __future__ import annotations

import difflib
import sqlite3
import time
import uuid as _uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from nova_hookspec._plugins.controls import name_key
from nova_hookspec._plugins.deferral import Deferred
from nova_hookspec._plugins.manager import NovaPluginManager
from nova_hookspec._spec import points as _points
from nova_hookspec.deferred import carry, delivered, enqueue
from nova_hookspec.reconcile.instances import Builder, fields
from nova_hookspec.reconcile.nova import INSTANCE_UUID, SHOWN, UUID_FORM, ListingError, parse_time

#: Deletes a pass queues at most without ``force``.
MAX_DELETES = 10
#: Seconds before the pass's start within which a change is not judged.
GRACE = 600.0
#: Seconds of deleted instances asked of Nova for a stale entry's last state.
LOOKBACK = 30 * 86400.0

SOURCE = "reconcile"
HOOKS = ("create_instance_post", "delete_instance_post")


class ReconcileError(Exception):
    """A pass that cannot run (a plugin named that cannot be reconciled)."""


class TooManyDeletes(Exception):  # noqa: N818 - a refusal, said as one
    """The pass would queue more deletes than allowed: nothing was queued."""


class Nova(Protocol):
    def live(self) -> dict[str, dict[str, Any]]: ...

    def deleted(self, since: float, wanted: set[str]) -> dict[str, dict[str, Any]]: ...


@dataclass
class Target:
    """A plugin a pass reconciles: its deferred create and delete observers."""

    plugin: str
    create: Deferred
    delete: Deferred
    lister: Any = None  # its known_instances implementation, if any

    @property
    def source(self) -> str:
        return "known_instances" if self.lister is not None else "delivered record"


@dataclass
class Drift:
    """What a pass found for one plugin (UUIDs, sorted)."""

    plugin: str
    source: str
    missing: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    #: Changes within the grace period, left for a later pass.
    recent: int = 0
    #: Instances with a job of the plugin waiting in this host's journal, left to it.
    waiting: int = 0


def targets(pm: NovaPluginManager, names: Sequence[str] = ()) -> list[Target]:
    """The plugins with deferred ``create_instance_post`` and ``delete_instance_post``
    (only those ``names`` name, in any form the operator's controls take, when given).

    :raises ReconcileError: a name matches no plugin, or one that lacks them.
    """
    pm.load_all()
    listers = {impl.plugin_name: impl.function
               for impl in pm.hook.known_instances.get_hookimpls()}
    found, matched = [], set()
    every_key: set[str] = set()
    for plugin, _ in sorted(pm.list_name_plugin()):
        keys = pm.keys(plugin)
        every_key |= keys
        hits = {name for name in names if name in keys or name_key(name) in keys}
        if names and not hits:
            continue
        matched |= hits
        create = pm.deferred.get((plugin, HOOKS[0]))
        delete = pm.deferred.get((plugin, HOOKS[1]))
        if create is not None and delete is not None:
            found.append(Target(plugin, create, delete, listers.get(plugin)))
        elif hits:
            lacks = " and ".join(h for h, d in zip(HOOKS, (create, delete)) if d is None)
            raise ReconcileError(
                f"plugin {plugin!r} cannot be reconciled: it has no deferred {lacks} (a "
                "reconcile queues jobs for the worker: mark the observers "
                "@hookimpl(deferred=True) or name the plugin in the 'deferred' control)")
    for name in names:
        if name not in matched:
            close = difflib.get_close_matches(name, sorted(every_key), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ReconcileError(f"no plugin {name!r} in this process ({hint}nova-hookspec "
                                 "list shows the plugins)")
    return found


def _instance_uuid(entry: object) -> str:
    """``entry`` of a ``known_instances`` listing as Nova's spelling of a UUID.

    :raises ValueError: it is none: a listing of hostnames, or of UUIDs spelt
        otherwise, would judge every instance missing and every entry stale.
    """
    text = str(entry) if isinstance(entry, _uuid.UUID) else entry
    if isinstance(text, str) and INSTANCE_UUID.fullmatch(text):
        return text
    raise ValueError(f"yielded {SHOWN.repr(entry)}, which is no instance UUID as Nova "
                     f"writes them ({UUID_FORM})")


def _known(target: Target, journal: str) -> set[str]:
    """What the plugin's external system holds, read once."""
    if target.lister is None:
        try:
            return set(delivered.known(journal, target.plugin))
        except (sqlite3.Error, OSError) as exc:
            raise ListingError(f"plugin {target.plugin!r}: the record of what its jobs "
                               f"delivered, {delivered.path_of(journal)}, cannot be read: "
                               f"{exc}") from None
    try:
        listing: Iterable[object] = target.lister()
        held = set()
        for entry in listing:
            try:
                held.add(_instance_uuid(entry))
            except ValueError as exc:
                raise ListingError(f"plugin {target.plugin!r}, hook 'known_instances' "
                                   f"{exc}: the pass is aborted, nothing was queued") from None
        return held
    except ListingError:
        raise
    except Exception as exc:  # noqa: BLE001 - the plugin's code: any failure aborts the pass
        raise ListingError(f"plugin {target.plugin!r}, hook 'known_instances' failed: "
                           f"{type(exc).__name__}: {exc}") from None


def _recent(server: dict[str, Any], horizon: float) -> bool:
    """Whether ``server`` changed (created, updated, deleted) after ``horizon``."""
    for key in ("created", "updated", "OS-SRV-USG:terminated_at"):
        moment = parse_time(server.get(key))
        if moment is not None and moment.timestamp() > horizon:
            return True
    return False


def _get(obj: Any, name: str) -> Any:
    """A field of a Nova object or a stand-in, ``None`` when unset."""
    check = getattr(obj, "obj_attr_is_set", None)
    if callable(check) and not check(name):
        return None
    return getattr(obj, name, None)


@dataclass
class Pass:
    """One pass's options and findings."""

    nova: Nova
    journal: str
    grace: float = GRACE
    max_deletes: int = MAX_DELETES
    force: bool = False
    lookback: float = LOOKBACK
    started: float = field(default_factory=time.time)
    drifts: list[Drift] = field(default_factory=list)
    #: How many live instances Nova listed (None before :meth:`judge`).
    listed: int | None = None
    #: The jobs written so far, by hook (what stands if the pass is interrupted).
    written: dict[str, int] = field(default_factory=dict)
    _servers: dict[str, dict[str, Any]] = field(default_factory=dict)

    def judge(self, found: list[Target]) -> list[Drift]:
        """Each plugin's drift; nothing written. Raises :class:`ListingError`."""
        known = {target.plugin: _known(target, self.journal) for target in found}
        live = self.nova.live()
        self.listed = len(live)
        horizon = self.started - self.grace
        stale_all: set[str] = set()
        for target in found:
            drift = Drift(target.plugin, target.source)
            holds = known[target.plugin]
            waiting = self.waiting(target.plugin)
            for uuid, server in live.items():
                if uuid in holds:
                    continue
                if uuid in waiting:
                    drift.waiting += 1
                elif _recent(server, horizon):
                    drift.recent += 1
                else:
                    drift.missing.append(uuid)
            stale = holds.difference(live)
            drift.waiting += len(stale & waiting)
            drift.stale = sorted(stale - waiting)
            stale_all.update(drift.stale)
            drift.missing.sort()
            self.drifts.append(drift)
        self._servers = {uuid: live[uuid] for d in self.drifts for uuid in d.missing}
        if stale_all:
            gone = self.nova.deleted(self.started - self.lookback, stale_all)
            for drift in self.drifts:
                recent = {u for u in drift.stale if u in gone and _recent(gone[u], horizon)}
                drift.recent += len(recent)
                drift.stale = [u for u in drift.stale if u not in recent]
            self._servers.update(gone)
        return self.drifts

    def waiting(self, plugin: str) -> set[str]:
        """The instances ``plugin`` has jobs for in this host's journal (never judged:
        a second job would only repeat them)."""
        return enqueue.journal().waiting(plugin)

    def deletes(self) -> int:
        return sum(len(drift.stale) for drift in self.drifts)

    def check_deletes(self) -> None:
        count = self.deletes()
        if count and self.listed == 0 and not self.force:
            raise TooManyDeletes(
                f"refused: Nova listed no instance, and this pass would queue {count} "
                "delete(s), every instance the plugins hold; nothing was queued. A wrong "
                "cloud, region or project scope? Check --os-cloud and the drift (--dry-run "
                "--json); pass --force if the cloud really has no instance")
        if count > self.max_deletes and not self.force:
            raise TooManyDeletes(
                f"refused: this pass would queue {count} delete(s), over the bound of "
                f"{self.max_deletes} (--max-deletes); nothing was queued. Check the drift "
                "(--dry-run --json), then raise --max-deletes or pass --force")

    def queue(self, found: list[Target], builder: Builder | None = None) -> dict[str, int]:
        """Write the jobs of the judged drift; the count by hook."""
        self.check_deletes()
        builder = builder or Builder()
        by_plugin = {target.plugin: target for target in found}
        written = self.written
        written.update({HOOKS[0]: 0, HOOKS[1]: 0})
        for drift in self.drifts:
            target = by_plugin[drift.plugin]
            for uuid in drift.missing:
                self._write(target.create, builder, uuid)
                written[HOOKS[0]] += 1
            for uuid in drift.stale:
                self._write(target.delete, builder, uuid)
                written[HOOKS[1]] += 1
        return dict(written)

    def _write(self, deferred: Deferred, builder: Builder, uuid: str) -> None:
        server = self._servers.get(uuid)
        instance = builder.instance(fields(server) if server is not None
                                    else {"uuid": uuid, "deleted": True})
        values = call_values(deferred.hook, instance, builder.context(instance))
        keys = enqueue.order_keys(values)
        payload = carry.dumps({name: values[name] for name in deferred.carried if name in values})
        enqueue.write(deferred.plugin, deferred.hook, keys, payload,
                      {**enqueue.meta(values, keys), "source": SOURCE})


def call_values(hook: str, instance: Any, context: Any) -> dict[str, Any]:
    """The arguments a hooked call of ``hook`` about ``instance`` would have given."""
    located = _points.hook_phase(hook)
    if located is None:
        raise ReconcileError(f"hook {hook!r} is no hook point's")
    point = located[0]
    values: dict[str, Any] = {arg.name: arg.default for arg in point.arguments}
    values.update(args=(), kwargs={}, context=context)
    if hook == HOOKS[0]:
        reservation = _get(instance, "reservation_id") or str(instance.uuid)
        values["result"] = ([instance], str(reservation))
        for name in ("display_name", "hostname", "availability_zone", "key_name", "metadata"):
            values[name] = _get(instance, name)
        values["min_count"] = values["max_count"] = 1
    else:
        values.update(result=None, instance=instance)
    return values

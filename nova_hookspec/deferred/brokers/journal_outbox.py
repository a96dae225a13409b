"""The journal as the relay's outbox: its oldest jobs read in written order, and those the
broker confirmed taken out.

Kept apart from :mod:`.journal` (the worker's side: claims, outcomes, the operator's
retries) because across hosts the journal of a Nova host is only an outbox: its
relay (:mod:`..relay`) publishes the jobs with confirms, then removes them. The
helpers on job rows that both sides use live here too.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from nova_hookspec.deferred.brokers import journal_db as _open
from nova_hookspec.deferred.brokers import journal_sql as _sql


def instances(keys: Sequence[str]) -> list[str]:
    """The instances of order keys (``plugin|instance``; a key without one left out)."""
    return [key for key in (k.split("|", 1)[1] for k in keys) if key]


def keys_of(db: sqlite3.Connection, ids: Sequence[int]) -> dict[int, list[str]]:
    """The order keys (``plugin|instance``) of the jobs ``ids``, sorted."""
    found: dict[int, list[str]] = {}
    if ids:
        for job_id, key in db.execute(
                f"SELECT job_id, key FROM job_keys WHERE job_id IN "
                f"({','.join('?' * len(ids))}) ORDER BY job_id, key", list(ids)):
            found.setdefault(job_id, []).append(key)
    return found


def count(db: sqlite3.Connection, plugin: str, hook: str, what: str, n: int = 1) -> None:
    """Add ``n`` to the ``what`` counter of ``plugin``'s ``hook``."""
    db.execute("INSERT INTO counters (plugin, hook, what, n) VALUES (?, ?, ?, ?) "
               "ON CONFLICT (plugin, hook, what) DO UPDATE SET n = n + excluded.n",
               (plugin, hook, what, n))


class Outbox:
    """The relay's side of :class:`.journal.Journal` (a base class of it)."""

    host: str

    def _db(self) -> sqlite3.Connection:
        raise NotImplementedError

    def _tx(self, durable: bool = False) -> _open.Tx:
        raise NotImplementedError

    def outbox(self, limit: int = 200) -> list[dict[str, Any]]:
        """The oldest pending jobs, in the order their calls wrote them, with their
        instances (order keys without the plugin) and ``meta``."""
        db = self._db()
        rows = db.execute(f"SELECT id, plugin, hook, payload, enqueued, meta FROM jobs "
                          f"WHERE state = 'pending' AND {_sql.COLLECTED} ORDER BY {_sql.ORDER} "
                          f"LIMIT ?", (limit,)).fetchall()
        keys = keys_of(db, [r[0] for r in rows])
        return [{"number": r[0], "host": self.host, "plugin": r[1], "hook": r[2],
                 "payload": r[3], "enqueued_at": r[4], "keys": instances(keys.get(r[0], ())),
                 **json.loads(r[5])} for r in rows]

    def sent(self, numbers: Sequence[int]) -> None:
        """These jobs are on the broker (confirmed): they leave the outbox."""
        marks = ",".join("?" * len(numbers))
        with self._tx(durable=True) as db:
            counts = db.execute(f"SELECT plugin, hook, COUNT(*) FROM jobs WHERE state = "
                                f"'pending' AND id IN ({marks}) GROUP BY plugin, hook",
                                tuple(numbers)).fetchall()
            db.execute(f"DELETE FROM job_keys WHERE job_id IN ({marks})", tuple(numbers))
            db.execute(f"DELETE FROM jobs WHERE state = 'pending' AND id IN ({marks})",
                       tuple(numbers))
            for plugin, hook, n in counts:
                count(db, plugin, hook, "relayed", n)

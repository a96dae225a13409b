"""Opening a connection to the journal (WAL mode, the schema, an older journal's columns),
keeping track of a journal's connections, and its write transaction.

Kept apart from :mod:`.journal` (what the journal does with a connection) so
that the one fiddly part of opening reads on its own: switching to WAL and
creating the schema take locks for which SQLite may answer "database is
locked" at once, without its busy timeout (two workers starting together on
a new journal), so the whole opening is tried again for a while.

Every connection runs at ``synchronous=NORMAL``: a commit survives any
process crash and may be lost on a power loss (the suffix of the WAL not
synced yet). The journal asks for ``FULL`` around the few commits that must
survive a power loss (:meth:`.journal.Journal._tx`'s ``durable``); a
``FULL`` commit syncs the WAL, and with it every commit before it.

A journal has a connection per thread; :class:`Opened` keeps every one so that
they are closed when the journal is done with, or when it is collected without
that: a connection left to the garbage collector is an unclosed database (a
``ResourceWarning`` since Python 3.13, and its file handles held until then).
At the process's end the connections of threads still running (a worker's
daemon threads) are left alone (:func:`_at_exit`): one may be inside a
statement, waiting for a journal another process locked, and closing it under
that statement waits out its busy timeout (a worker's stop held a minute and
more) or crashes the process (a segmentation fault at a worker's stop); the
process's end closes them, and a WAL journal is safe at any process's end.
"""

from __future__ import annotations

import atexit
import os
import sqlite3
import threading
import time
import weakref
from typing import Any

from nova_hookspec.deferred.brokers import journal_ids as _ids
from nova_hookspec.deferred.brokers import journal_sql as _sql
from nova_hookspec.deferred.reconnect import Backoff

#: Seconds a new connection keeps trying while another process holds a lock that
#: SQLite will not wait for (its busy timeout covers the others).
OPEN_PATIENCE = 60.0


def prepare(db: sqlite3.Connection) -> None:
    """The schema, older journals' columns added (inside the caller's transaction)."""
    for statement in _sql.SCHEMA.split(";"):  # not executescript: it would COMMIT
        if statement.strip():
            db.execute(statement)
    have = {row[1] for row in db.execute("PRAGMA table_info(jobs)")}
    for column, kind in _sql.ADDED.items():
        if column not in have:  # an older journal: its jobs keep their order (id)
            db.execute(f"ALTER TABLE jobs ADD COLUMN {column} {kind}")
    if "written_at" not in have:
        db.execute("UPDATE jobs SET written_at = enqueued, seq = id")
    db.execute("CREATE INDEX IF NOT EXISTS jobs_written ON jobs(state, written_at, "
               "origin, seq)")
    db.execute("CREATE INDEX IF NOT EXISTS jobs_origin ON jobs(origin)")  # holds_spooled


def number_after_the_mark(db: sqlite3.Connection, target: str) -> None:
    """A journal that has numbered no job yet, or one more than a step behind the mark
    beside ``target`` (an older copy restored), numbers its next job after the mark
    (:mod:`.journal_ids`): no job takes an id a plugin saw (inside the caller's
    transaction).

    :raises journal_ids.DamagedMark: the mark is damaged and the journal numbered none.
    """
    row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'jobs'").fetchone()
    mark = _ids.floor_going_on(target, 0 if row is None else int(row[0]))
    if row is None and mark > 0:
        db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('jobs', ?)", (mark,))
    elif row is not None and int(row[0]) + _ids.STEP < mark:
        db.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = 'jobs'", (mark,))


def connect(target: str, patience: float = OPEN_PATIENCE) -> sqlite3.Connection:
    """A new connection to ``target``, in WAL mode at ``synchronous=NORMAL``, the schema
    in place; "database is locked" while opening is tried again for ``patience`` s."""
    deadline = time.monotonic() + patience
    backoff = Backoff(0.005, 0.5)
    while True:
        db = sqlite3.connect(target, timeout=60.0, isolation_level=None,
                             check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("BEGIN IMMEDIATE")
            try:
                prepare(db)
                if target != ":memory:":
                    number_after_the_mark(db, target)
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:  # SQLite may have rolled back already (a full disk)
                    db.execute("ROLLBACK")
                raise
            return db
        except BaseException as exc:  # never left open (not a journal, a full disk, ...)
            db.close()
            if (not isinstance(exc, sqlite3.OperationalError) or "locked" not in str(exc)
                    or time.monotonic() > deadline):
                raise
        time.sleep(backoff.failed())


def _close_mine(items: list[tuple[int, sqlite3.Connection, threading.Thread]],
                lock: threading.Lock, settled: bool = False) -> None:
    """Close the connections of ``items`` this process opened (a forked child leaves its
    parent's alone: they are the parent's to close); ``settled``: only those of threads
    that ended, and of this one (the process's end, :func:`_at_exit`)."""
    this = threading.current_thread()

    def closing(pid: int, thread: threading.Thread) -> bool:
        return pid == os.getpid() and (
            not settled or thread is this or not thread.is_alive())

    with lock:
        mine = [db for pid, db, thread in items if closing(pid, thread)]
        items[:] = [item for item in items if not closing(item[0], item[2])]
    for db in mine:
        db.close()


#: Every :class:`Opened` not collected yet, for :func:`_at_exit`.
_LIVE: weakref.WeakSet[Opened] = weakref.WeakSet()


@atexit.register
def _at_exit() -> None:
    """At the process's end, close the connections of the threads that ended and of
    this one; a thread still running (a daemon) may be inside a statement on its own:
    it is left to the process's end (see the module's docstring)."""
    for opened in list(_LIVE):
        _close_mine(opened._items, opened._lock, settled=True)


class Opened:
    """Every connection a journal (``owner``) opened, with the process that opened it:
    closed by :meth:`close_all`, or, in the process that opened them, when ``owner`` is
    collected, or at the process's end (:func:`_at_exit`)."""

    def __init__(self, owner: object) -> None:
        self._items: list[tuple[int, sqlite3.Connection, threading.Thread]] = []
        self._lock = threading.Lock()
        weakref.finalize(owner, _close_mine, self._items, self._lock).atexit = False
        _LIVE.add(self)

    def add(self, db: sqlite3.Connection) -> None:
        with self._lock:
            self._items.append((os.getpid(), db, threading.current_thread()))

    def close(self, db: sqlite3.Connection) -> None:
        """Close ``db`` and forget it, unless :meth:`close_all` (or the process's end)
        took it first: a connection is closed once. (Two closes at once, a thread's
        own at its end and a ``close_all`` beside it, free the connection twice: a
        test's teardown hung for ever on the freed mutex.)"""
        with self._lock:
            mine = any(item[1] is db for item in self._items)
            self._items[:] = [item for item in self._items if item[1] is not db]
        if mine:
            db.close()

    def close_all(self) -> None:
        with self._lock:
            items, self._items[:] = list(self._items), []
        for _, db, _thread in items:
            db.close()


class Tx:
    """A write transaction on ``db`` (``with``: the connection), committed at
    ``synchronous=FULL`` when ``full`` (:meth:`.journal.Journal._tx`)."""

    def __init__(self, db: sqlite3.Connection, full: bool) -> None:
        self.db, self.full = db, full

    def __enter__(self) -> sqlite3.Connection:
        if self.full:
            self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        try:
            if kind is None:
                self.db.execute("COMMIT")
            elif self.db.in_transaction:  # not rolled back by SQLite already (SQLITE_FULL):
                self.db.execute("ROLLBACK")  # a ROLLBACK would hide the real error
        finally:
            if self.full:
                self.db.execute("PRAGMA synchronous=NORMAL")

"""The one-host store: a SQLite journal shared by every Nova process on the host.

Standard library only. WAL mode (readers never wait for the writer),
``synchronous=NORMAL`` (:mod:`.journal_db`; no sync per commit: the jobs
come from spool files that stay until a synced commit holds what they held,
see :mod:`..collector`), with ``FULL`` commits (``journal_sync = full``)
where nothing else holds the data (a job written straight in, an operator's
retry or drop, what the relay had confirmed), a busy timeout so that
worker-side processes can write at once. The file is created with
mode 0600 and the owner of its folder (:mod:`..ownership`; SQLite gives its
``-wal`` and ``-shm`` files the same).

Who writes it: since the hooked calls write to their own spool files
(:mod:`..spool`), only worker-side processes (the worker, the relay, the
``deferred`` commands) open the journal; the collector (:mod:`..collector`)
imports the spooled jobs, each file's offset in the same transaction.

Order: each job has order keys (``plugin|instance-uuid``, one per instance
the call was about). Jobs are ordered as they were written (``written_at``,
then the spool file, then its sequence number), not as they were imported.
A job is claimed only when no earlier job sharing a key is pending, no job
sharing a key is running, and a collection pass that started after it was
written has completed (``collected_through``; why, in :mod:`..collector`):
one instance's jobs for one plugin run in the order their calls returned.
A dead job no longer holds the later ones back.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from nova_hookspec._plugins import config as _config
from nova_hookspec.deferred import ownership, spool
from nova_hookspec.deferred.brokers import journal_db as _open
from nova_hookspec.deferred.brokers import journal_ids as _ids
from nova_hookspec.deferred.brokers import journal_rescue as _rescue
from nova_hookspec.deferred.brokers import journal_sql as _sql
from nova_hookspec.deferred.brokers.journal_outbox import Outbox, count, instances, keys_of
from nova_hookspec.deferred.brokers.journal_views import Views
from nova_hookspec.deferred.jobs import Job

log = logging.getLogger("nova_hookspec.worker")

class Journal(Views, Outbox):
    """The SQLite journal at ``path`` (created if missing and ``create``: mode 0600, owned
    as its folder).

    :param sync: ``"full"`` or ``"normal"`` (SQLite's ``synchronous``).
    """

    def __init__(self, path: str, sync: str = "full", create: bool = True) -> None:
        self.path = path
        self.sync = sync.upper()
        # Job ids are HOST:NUMBER: Nova's own [DEFAULT] host names this host when set.
        self.host = _config.raw_option("DEFAULT", "host") or socket.gethostname()
        self._local = threading.local()
        #: The job numbers the mark beside the journal reserves (read at the first job).
        self._mark: int | None = None
        #: Every thread's connection, for :meth:`close_all` (and closed if never called).
        self._opened = _open.Opened(self)
        self.spool = spool.folder_of(path)
        #: Without ``create``, a missing journal reads as an empty one (nothing is made).
        self._target = path
        if not os.path.exists(path):
            if not create:
                self._target = ":memory:"
            else:
                ownership.create_file(path)  # 0600, owned as its folder (root's sudo too)
        if self._target == path:
            self._db()  # the schema, an older journal's columns added

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        mine = getattr(self._local, "pid", None) == os.getpid()
        moved = db is not None and self._target != ":memory:" and not self._same_file()
        if db is None or not mine or moved:
            if moved:  # removed or replaced underneath (an operator, a restore)
                ownership.create_file(self.path)
            new = self._connect()
            if moved and mine and db is not None:  # its jobs go on in the new file
                try:
                    _rescue.carry_over(db, new, self.path, getattr(self._local, "inode", None))
                except BaseException:  # tried again at the next use, from the old file
                    new.close()
                    raise
                self._opened.close(db)
            db = self._local.db = new
            self._local.pid = os.getpid()
            self._opened.add(db)
            self._local.inode = (os.stat(self._target).st_ino
                                 if self._target != ":memory:" else None)
        return db

    def _connect(self) -> sqlite3.Connection:
        """A new connection (:mod:`.journal_db`); :mod:`.journal_read` reads without one
        that writes."""
        return _open.connect(self._target)

    def _same_file(self) -> bool:
        """Whether the file at the journal's path is the one this thread has open."""
        try:
            return os.stat(self.path).st_ino == getattr(self._local, "inode", None)
        except FileNotFoundError:
            return False

    def close(self) -> None:
        """Close this thread's connection (the next use opens a new one)."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is not None:
            self._opened.close(db)
            self._local.db = None

    def close_all(self) -> None:
        """Close every thread's connection: the journal is done with (a worker that
        stopped, a test's end). A thread that uses it again opens a new one."""
        self._opened.close_all()
        self._local = threading.local()

    def _tx(self, durable: bool = False) -> _open.Tx:
        """A write transaction; ``durable``: its commit (and every one before it)
        survives a power loss when the journal's ``sync`` is FULL. The others run at
        NORMAL (see the module's docstring for why that loses no job)."""
        return _open.Tx(self._db(), durable and self.sync == "FULL")

    # ------------------------------------------------------------ the hooked call

    def enqueue(self, plugin: str, hook: str, keys: Sequence[str], payload: str,
                meta: str = "{}") -> int:
        """Write a job straight into the journal (not through a spool file); its number."""
        with self._tx(durable=True) as db:
            return self._insert(db, plugin, hook, keys, payload, meta, time.time(), "", 0)

    def _insert(self, db: sqlite3.Connection, plugin: str, hook: str, keys: Sequence[str],
                payload: str, meta: str, written_at: float, origin: str, seq: int) -> int:
        cur = db.execute("INSERT INTO jobs (plugin, hook, payload, enqueued, due, meta, "
                         "written_at, origin, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         (plugin, hook, payload, written_at, written_at, meta, written_at,
                          origin, seq))
        job_id = int(cur.lastrowid or 0)
        if self._target != ":memory:" and job_id > self._marked(job_id):  # marked, committed
            self._mark = _ids.reserve(self.path, job_id)
        db.executemany("INSERT INTO job_keys (job_id, key) VALUES (?, ?)",
                       [(job_id, f"{plugin}|{key}") for key in keys or ("",)])
        self._count(db, plugin, hook, "enqueued")
        return job_id

    def _marked(self, numbered: int) -> int:
        """The job numbers reserved in the mark (:mod:`.journal_ids`), the journal having
        numbered up to ``numbered``; 0 when it is damaged or deleted (written again)."""
        if self._mark is None:
            self._mark = _ids.floor_going_on(self.path, numbered)
        return self._mark if os.path.exists(_ids.path_of(self.path)) else 0

    # ------------------------------------------------------------ the collector

    def spool_offsets(self) -> dict[str, int]:
        """How far each spool file has been imported."""
        return dict(self._db().execute("SELECT name, read_to FROM spool_files").fetchall())

    def import_spooled(self, name: str, records: Sequence[dict[str, Any]], offset: int,
                       durable: bool = False) -> None:
        """Insert the jobs read from spool file ``name`` and its new offset, at once;
        ``durable`` before the file is removed (its jobs then live only here)."""
        with self._tx(durable) as db:
            for r in records:
                self._insert(db, str(r["plugin"]), str(r["hook"]), list(r["keys"]),
                             str(r["payload"]), json.dumps(r["meta"]), float(r["written_at"]),
                             name, int(r["seq"]))
            db.execute("INSERT INTO spool_files (name, read_to) VALUES (?, ?) ON CONFLICT "
                       "(name) DO UPDATE SET read_to = excluded.read_to", (name, offset))

    def holds_spooled(self, name: str) -> bool:
        """Whether a job imported from spool file ``name`` is still here (not done)."""
        return self._db().execute("SELECT 1 FROM jobs WHERE origin = ? LIMIT 1",
                                  (name,)).fetchone() is not None

    def spool_forget(self, names: Sequence[str]) -> None:
        """These spool files are gone: forget their offsets."""
        with self._tx() as db:
            db.executemany("DELETE FROM spool_files WHERE name = ?", [(n,) for n in names])

    def collected(self, started: float) -> None:
        """A collection pass that started at ``started`` is complete: the jobs written
        before then may run (written only when a job waits for it)."""
        db = self._db()
        if db.execute(_sql.WAITING_FOR_A_PASS).fetchone() is None:
            return
        with self._tx() as db:
            db.execute("INSERT INTO spool_state (what, value) VALUES ('collected_through', ?) "
                       "ON CONFLICT (what) DO UPDATE SET value = MAX(value, excluded.value)",
                       (started,))

    # ------------------------------------------------------------ the worker

    def claim(self, worker: str, lease: float) -> Job | None:
        """One job that may run now, its run counted (started)."""
        found = self.claim_many(worker, lease, 1)
        return found[0] if found and self.start(found[0]) else None

    def claim_many(self, worker: str, lease: float, limit: int) -> list[Job]:
        """Up to ``limit`` jobs that may run now, in one transaction: no two share an
        order key (the later would have an earlier one pending), none has an earlier
        job sharing a key pending or running (:data:`.journal_sql.FREE`)."""
        now = time.time()
        with self._tx() as db:
            through = db.execute(f"SELECT {_sql.THROUGH}").fetchone()[0]
            ids = [r[0] for r in db.execute(_sql.CLAIMABLE[0], {"now": now})]
            ids += [r[0] for r in db.execute(_sql.CLAIMABLE[1], {
                "now": now, "through": through, "limit": max(1, limit - len(ids))})]
            keys = self._keys(db, ids)
            taken: set[str] = set()
            chosen = []
            for job_id in ids[:limit]:  # disjoint already; kept so if two tie in order
                if not taken & set(keys.get(job_id, ())):
                    taken.update(keys.get(job_id, ()))
                    chosen.append(job_id)
            # A run is counted as a lane starts it (start), not here
            db.executemany("UPDATE jobs SET state = 'running', worker = ?, lease_until = ? "
                           "WHERE id = ?", [(worker, now + lease, job_id) for job_id in chosen])
            rows = {r[0]: r for r in db.execute(
                f"SELECT id, plugin, hook, payload, attempts, enqueued, history, meta FROM jobs"
                f" WHERE id IN ({','.join('?' * len(chosen))})", chosen)} if chosen else {}
        return [Job(r[0], r[1], r[2], r[3], r[4], r[5], host=self.host,
                    history=json.loads(r[6]), worker=worker,
                    keys=tuple(instances(keys.get(r[0], ()))),
                    source=str(json.loads(r[7]).get("source", "hook")), started=False)
                for r in (rows[job_id] for job_id in chosen)]

    def start(self, job: Job) -> bool:
        """Count the run of ``job`` (claimed, not started) as it starts: a worker that
        ends first leaves its attempts as they were. Whether the run still holds the
        job (fencing: from here on its records need this count)."""
        with self._tx() as db:
            held = db.execute(f"UPDATE jobs SET attempts = attempts + 1 WHERE {self._HELD}",
                              self._held(job)).rowcount > 0
        if held:
            job.attempts, job.started = job.attempts + 1, True
        return held

    _keys = staticmethod(keys_of)
    _count = staticmethod(count)

    #: A job still held by the run that claimed it (fencing): a late or stale run's
    #: record (its lease ran out, another run took the job) changes nothing.
    _HELD = "id = ? AND state = 'running' AND worker = ? AND attempts = ?"

    @staticmethod
    def _held(job: Job) -> tuple[Any, ...]:
        return (job.id, job.worker, job.attempts)

    def renew(self, job: Job, worker: str, lease: float) -> bool:
        """Extend the lease of ``job``'s run; whether the run still holds it."""
        with self._tx() as db:
            cur = db.execute(f"UPDATE jobs SET lease_until = ? WHERE {self._HELD}",
                             (time.time() + lease, job.id, worker, job.attempts))
            return cur.rowcount > 0

    def done(self, job: Job) -> bool:
        """``job``'s run succeeded; whether it was recorded (the run still held it)."""
        return self.record_many([(job, "done", 0.0, "")])[0]

    def again(self, job: Job, delay: float, error: str) -> bool:
        """``job``'s run failed: run it again in ``delay`` s; whether it was recorded."""
        return self.record_many([(job, "retry", delay, error)])[0]

    def dead(self, job: Job, error: str) -> bool:
        """``job``'s run failed for good; whether it was recorded."""
        return self.record_many([(job, "dead", 0.0, error)])[0]

    def record_many(self, outcomes: Sequence[tuple[Job, str, float, str]]) -> list[bool]:
        """Record several runs' outcomes (job, ``done``/``retry``/``dead``, delay, error)
        in one transaction (the worker's group commit); for each, whether it was
        recorded (the run still held its job)."""
        with self._tx() as db:
            done = self._done_many(db, [job for job, status, _, _ in outcomes
                                        if status == "done"])
            return [job.id in done if status == "done"
                    else self._outcome(db, job, status, delay, error)
                    for job, status, delay, error in outcomes]

    def _done_many(self, db: sqlite3.Connection, jobs: Sequence[Job]) -> set[int]:
        """Forget the jobs of these runs that still hold them (a few statements for
        all: the worker's cost per job); their ids."""
        held: set[int] = set()
        for at in range(0, len(jobs), 300):  # SQLite's bound on variables (999)
            chunk = {job.id: job for job in jobs[at:at + 300]}
            for job_id, worker, attempts in db.execute(
                    f"SELECT id, worker, attempts FROM jobs WHERE state = 'running' AND id IN "
                    f"({','.join('?' * len(chunk))})", list(chunk)):
                if (worker, attempts) == (chunk[job_id].worker, chunk[job_id].attempts):
                    held.add(job_id)
            ids = [job_id for job_id in chunk if job_id in held]
            marks = ",".join("?" * len(ids))
            db.execute(f"DELETE FROM job_keys WHERE job_id IN ({marks})", ids)
            db.execute(f"DELETE FROM jobs WHERE id IN ({marks})", ids)
        counts = Counter((job.plugin, job.hook) for job in jobs if job.id in held)
        for (plugin, hook), n in counts.items():
            self._count(db, plugin, hook, "done", n)
        return held

    def _outcome(self, db: sqlite3.Connection, job: Job, status: str, delay: float,
                 error: str) -> bool:
        if status == "dead":
            cur = db.execute(f"UPDATE jobs SET state = 'dead', worker = NULL, "
                             f"lease_until = NULL, history = ? WHERE {self._HELD}",
                             (self._history(job, error), *self._held(job)))
        else:
            cur = db.execute(f"UPDATE jobs SET state = 'pending', due = ?, worker = NULL, "
                             f"lease_until = NULL, history = ? WHERE {self._HELD}",
                             (time.time() + delay, self._history(job, error),
                              *self._held(job)))
        if cur.rowcount == 0:
            return False
        self._count(db, job.plugin, job.hook, "retried" if status == "retry" else "dead")
        return True

    @staticmethod
    def _history(job: Job, error: str) -> str:
        """The job's history with this failed run added (the last 20 runs kept)."""
        history = [*(job.history or []), {"attempt": job.attempts, "at": time.time(),
                                          "error": error}]
        return json.dumps(history[-20:])

    def release(self, job: Job) -> bool:
        """Give ``job`` back unrun (a worker stopping); whether the run still held it."""
        with self._tx() as db:
            cur = db.execute(f"UPDATE jobs SET state = 'pending', worker = NULL, "
                             f"lease_until = NULL, attempts = attempts - ? WHERE {self._HELD}",
                             (int(job.started), *self._held(job)))
            return cur.rowcount > 0

    def release_dead_workers(self, alive: Any) -> int:
        """Give back at once the jobs of this host's workers that are gone
        (``alive(worker)`` says whether one may run), instead of waiting for their lease."""
        prefix = f"{self.host}:"
        with self._tx() as db:
            rows = db.execute("SELECT id, worker FROM jobs WHERE state = 'running'").fetchall()
            gone = [job_id for job_id, worker in rows
                    if worker and worker.startswith(prefix) and not alive(worker)]
            db.executemany("UPDATE jobs SET lease_until = 0 WHERE id = ?",
                           [(job_id,) for job_id in gone])
        return len(gone)

    # ------------------------------------------------------------ operating it

    def retry(self, job_id: int | None = None, but: Sequence[int] = ()) -> int:
        """Make dead job ``job_id`` (or every dead job but ``but``) pending again."""
        with self._tx(durable=True) as db:
            query = ("UPDATE jobs SET state = 'pending', due = ?, attempts = 0 "
                     f"WHERE state = 'dead' AND id NOT IN ({','.join('?' * len(but))})")
            cur = (db.execute(query, (time.time(), *but)) if job_id is None
                   else db.execute(query + " AND id = ?", (time.time(), *but, job_id)))
            return cur.rowcount

    def drop(self, job_id: int) -> int:
        with self._tx(durable=True) as db:
            found = db.execute("SELECT id FROM jobs WHERE id = ? AND state = 'dead'",
                               (job_id,)).fetchone()
            if found is None:
                return 0
            db.execute("DELETE FROM job_keys WHERE job_id = ?", (job_id,))
            db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
            return 1

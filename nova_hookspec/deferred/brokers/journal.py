"""The one-host store: a SQLite journal shared by every Nova process on the host.

Standard library only. WAL mode (readers never wait for the writer),
``synchronous=FULL`` by default (a job committed before the hooked call
returned survives a power loss; ``normal`` survives any process crash but may
lose the last commits on a power loss), a busy timeout so that nova-api's
WSGI workers and nova-compute can write at once. The file is created with
mode 0600 (SQLite gives its ``-wal`` and ``-shm`` files the same mode).

Order: each job has order keys (``plugin|instance-uuid``, one per instance
the call was about). A job is claimed only when no earlier job sharing a key
is pending or running: one instance's jobs for one plugin run in the order
their calls returned. A dead job no longer holds the later ones back.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Sequence
from typing import Any

from nova_hookspec._plugins import config as _config
from nova_hookspec.deferred.jobs import Job

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    plugin TEXT NOT NULL,
    hook TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    enqueued REAL NOT NULL,
    due REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    worker TEXT,
    lease_until REAL,
    history TEXT NOT NULL DEFAULT '[]',
    meta TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS job_keys (
    job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    key TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_state_due ON jobs(state, due);
CREATE INDEX IF NOT EXISTS job_keys_key ON job_keys(key, job_id);
CREATE INDEX IF NOT EXISTS job_keys_job ON job_keys(job_id);
CREATE TABLE IF NOT EXISTS counters (
    plugin TEXT NOT NULL, hook TEXT NOT NULL, what TEXT NOT NULL,
    n INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (plugin, hook, what)
);
"""

#: A job that may run now: due, or leased to a worker that is gone.
_CLAIMABLE = """
SELECT j.id FROM jobs j
WHERE ((j.state = 'pending' AND j.due <= :now)
       OR (j.state = 'running' AND j.lease_until < :now))
  AND NOT EXISTS (
    SELECT 1 FROM job_keys mine
    JOIN job_keys other ON other.key = mine.key AND other.job_id < mine.job_id
    JOIN jobs e ON e.id = other.job_id
    WHERE mine.job_id = j.id AND e.state IN ('pending', 'running'))
ORDER BY j.id LIMIT 1
"""


class Journal:
    """The SQLite journal at ``path`` (created, mode 0600, if missing).

    :param sync: ``"full"`` or ``"normal"`` (SQLite's ``synchronous``).
    """

    def __init__(self, path: str, sync: str = "full") -> None:
        self.path = path
        self.sync = sync.upper()
        # Job ids are HOST:NUMBER: Nova's own [DEFAULT] host names this host when set.
        self.host = _config.raw_option("DEFAULT", "host") or socket.gethostname()
        self._local = threading.local()
        if not os.path.exists(path):
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        db = self._db()
        db.executescript(_SCHEMA)
        if "meta" not in {row[1] for row in db.execute("PRAGMA table_info(jobs)")}:
            db.execute("ALTER TABLE jobs ADD COLUMN meta TEXT NOT NULL DEFAULT '{}'")  # 0.x

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None or getattr(self._local, "pid", None) != os.getpid():
            db = sqlite3.connect(self.path, timeout=60.0, isolation_level=None,
                                 check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA synchronous={self.sync}")
            db.execute("PRAGMA foreign_keys=ON")
            self._local.db, self._local.pid = db, os.getpid()
        return db

    def close(self) -> None:
        """Close this thread's connection (the next use opens a new one)."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    class _Tx:
        def __init__(self, db: sqlite3.Connection) -> None:
            self.db = db

        def __enter__(self) -> sqlite3.Connection:
            self.db.execute("BEGIN IMMEDIATE")
            return self.db

        def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
            self.db.execute("COMMIT" if kind is None else "ROLLBACK")

    def _tx(self) -> Journal._Tx:
        return Journal._Tx(self._db())

    # ------------------------------------------------------------ the hooked call

    def enqueue(self, plugin: str, hook: str, keys: Sequence[str], payload: str,
                meta: str = "{}") -> int:
        now = time.time()
        with self._tx() as db:
            cur = db.execute("INSERT INTO jobs (plugin, hook, payload, enqueued, due, meta) "
                             "VALUES (?, ?, ?, ?, ?, ?)", (plugin, hook, payload, now, now, meta))
            job_id = int(cur.lastrowid or 0)
            db.executemany("INSERT INTO job_keys (job_id, key) VALUES (?, ?)",
                           [(job_id, f"{plugin}|{key}") for key in keys or ("",)])
            self._count(db, plugin, hook, "enqueued")
        return job_id

    # ------------------------------------------------------------ the relay (an outbox)

    def outbox(self, limit: int = 200) -> list[dict[str, Any]]:
        """The oldest pending jobs, in the order their calls wrote them, with their
        instances (order keys without the plugin) and ``meta``."""
        db = self._db()
        rows = db.execute("SELECT id, plugin, hook, payload, enqueued, meta FROM jobs "
                          "WHERE state = 'pending' ORDER BY id LIMIT ?", (limit,)).fetchall()
        keys: dict[int, list[str]] = {}
        if rows:
            for job_id, key in db.execute(
                    "SELECT job_id, key FROM job_keys WHERE job_id BETWEEN ? AND ? "
                    "ORDER BY job_id, key", (rows[0][0], rows[-1][0])):
                keys.setdefault(job_id, []).append(key.split("|", 1)[1])
        return [{"number": r[0], "host": self.host, "plugin": r[1], "hook": r[2],
                 "payload": r[3], "enqueued_at": r[4], "keys": [k for k in keys.get(r[0], [])
                                                                 if k],
                 **json.loads(r[5])} for r in rows]

    def sent(self, numbers: Sequence[int]) -> None:
        """These jobs are on the broker (confirmed): they leave the outbox."""
        marks = ",".join("?" * len(numbers))
        with self._tx() as db:
            counts = db.execute(f"SELECT plugin, hook, COUNT(*) FROM jobs WHERE state = "
                                f"'pending' AND id IN ({marks}) GROUP BY plugin, hook",
                                tuple(numbers)).fetchall()
            db.execute(f"DELETE FROM job_keys WHERE job_id IN ({marks})", tuple(numbers))
            db.execute(f"DELETE FROM jobs WHERE state = 'pending' AND id IN ({marks})",
                       tuple(numbers))
            for plugin, hook, count in counts:
                self._count(db, plugin, hook, "relayed", count)

    # ------------------------------------------------------------ the worker

    def claim(self, worker: str, lease: float) -> Job | None:
        now = time.time()
        with self._tx() as db:
            row = db.execute(_CLAIMABLE, {"now": now}).fetchone()
            if row is None:
                return None
            db.execute("UPDATE jobs SET state = 'running', worker = ?, lease_until = ?, "
                       "attempts = attempts + 1 WHERE id = ?", (worker, now + lease, row[0]))
            found = db.execute("SELECT id, plugin, hook, payload, attempts, enqueued, history "
                               "FROM jobs WHERE id = ?", (row[0],)).fetchone()
        return Job(found[0], found[1], found[2], found[3], found[4], found[5],
                   host=self.host, history=json.loads(found[6]))

    def renew(self, job: Job, worker: str, lease: float) -> None:
        with self._tx() as db:
            db.execute("UPDATE jobs SET lease_until = ? WHERE id = ? AND worker = ? "
                       "AND state = 'running'", (time.time() + lease, job.id, worker))

    def done(self, job: Job) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM job_keys WHERE job_id = ?", (job.id,))
            db.execute("DELETE FROM jobs WHERE id = ?", (job.id,))
            self._count(db, job.plugin, job.hook, "done")

    @staticmethod
    def _history(job: Job, error: str) -> str:
        """The job's history with this failed run added (the last 20 runs kept)."""
        history = [*(job.history or []), {"attempt": job.attempts, "at": time.time(),
                                          "error": error}]
        return json.dumps(history[-20:])

    def again(self, job: Job, delay: float, error: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE jobs SET state = 'pending', due = ?, worker = NULL, "
                       "lease_until = NULL, history = ? WHERE id = ?",
                       (time.time() + delay, self._history(job, error), job.id))
            self._count(db, job.plugin, job.hook, "retried")

    def dead(self, job: Job, error: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE jobs SET state = 'dead', worker = NULL, lease_until = NULL, "
                       "history = ? WHERE id = ?", (self._history(job, error), job.id))
            self._count(db, job.plugin, job.hook, "dead")

    def release(self, job: Job) -> None:
        with self._tx() as db:
            db.execute("UPDATE jobs SET state = 'pending', worker = NULL, lease_until = NULL, "
                       "attempts = attempts - 1 WHERE id = ? AND state = 'running'", (job.id,))

    def release_dead_workers(self, alive: Any) -> int:
        """Give back at once the jobs of this host's workers that are gone
        (``alive(pid)`` says whether one runs), instead of waiting for their lease."""
        prefix = f"{self.host}:"
        with self._tx() as db:
            rows = db.execute("SELECT id, worker FROM jobs WHERE state = 'running'").fetchall()
            gone = [job_id for job_id, worker in rows
                    if worker and worker.startswith(prefix)
                    and not alive(int(worker.rsplit(":", 1)[1].split("/")[0]))]
            db.executemany("UPDATE jobs SET lease_until = 0 WHERE id = ?",
                           [(job_id,) for job_id in gone])
        return len(gone)

    @staticmethod
    def _count(db: sqlite3.Connection, plugin: str, hook: str, what: str, n: int = 1) -> None:
        db.execute("INSERT INTO counters (plugin, hook, what, n) VALUES (?, ?, ?, ?) "
                   "ON CONFLICT (plugin, hook, what) DO UPDATE SET n = n + excluded.n",
                   (plugin, hook, what, n))

    # ------------------------------------------------------------ operating it

    def status(self) -> dict[str, Any]:
        db = self._db()
        now = time.time()
        states = dict(db.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall())
        oldest = db.execute("SELECT MIN(enqueued) FROM jobs WHERE state IN "
                            "('pending', 'running')").fetchone()[0]
        counters = [{"plugin": p, "hook": h, "what": w, "count": n} for p, h, w, n in
                    db.execute("SELECT plugin, hook, what, n FROM counters ORDER BY 1, 2, 3")]
        return {"journal": self.path, "pending": states.get("pending", 0),
                "running": states.get("running", 0), "dead": states.get("dead", 0),
                "oldest_pending_age": round(now - oldest, 3) if oldest else None,
                "counters": counters}

    def jobs(self, dead: bool = False, limit: int = 100) -> list[dict[str, Any]]:
        states = ("dead",) if dead else ("pending", "running")
        rows = self._db().execute(
            f"SELECT id, plugin, hook, state, attempts, enqueued, due, history FROM jobs "
            f"WHERE state IN ({','.join('?' * len(states))}) ORDER BY id LIMIT ?",
            (*states, limit)).fetchall()
        return [{"id": r[0], "plugin": r[1], "hook": r[2], "state": r[3], "attempts": r[4],
                 "enqueued_at": r[5], "due_at": r[6], "history": json.loads(r[7])}
                for r in rows]

    def retry(self, job_id: int | None = None) -> int:
        with self._tx() as db:
            query = ("UPDATE jobs SET state = 'pending', due = ?, attempts = 0 "
                     "WHERE state = 'dead'")
            cur = (db.execute(query, (time.time(),)) if job_id is None
                   else db.execute(query + " AND id = ?", (time.time(), job_id)))
            return cur.rowcount

    def drop(self, job_id: int) -> int:
        with self._tx() as db:
            found = db.execute("SELECT id FROM jobs WHERE id = ? AND state = 'dead'",
                               (job_id,)).fetchone()
            if found is None:
                return 0
            db.execute("DELETE FROM job_keys WHERE job_id = ?", (job_id,))
            db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
            return 1

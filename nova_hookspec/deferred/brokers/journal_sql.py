"""The journal's SQL: its schema, the columns later releases added, and the claim.

Kept apart from :mod:`.journal` (which runs them) so that the rules of order
read in one place: a job is claimable when no job sharing one of its order
keys is running and no earlier-written one is pending, and (for a job that
came through a spool file) once a collection pass that started after it was
written has completed (:mod:`nova_hookspec.deferred.collector` says why).
"""

from __future__ import annotations

SCHEMA = """
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
    meta TEXT NOT NULL DEFAULT '{}',
    written_at REAL NOT NULL DEFAULT 0,
    origin TEXT NOT NULL DEFAULT '',
    seq INTEGER NOT NULL DEFAULT 0
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
CREATE TABLE IF NOT EXISTS spool_files (name TEXT PRIMARY KEY, read_to INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS spool_state (what TEXT PRIMARY KEY, value REAL NOT NULL);
"""

#: Columns added since 0.x, and what an older journal's rows get.
ADDED = {"meta": "TEXT NOT NULL DEFAULT '{}'", "written_at": "REAL NOT NULL DEFAULT 0",
          "origin": "TEXT NOT NULL DEFAULT ''", "seq": "INTEGER NOT NULL DEFAULT 0"}

THROUGH = "COALESCE((SELECT value FROM spool_state WHERE what = 'collected_through'), 0)"
#: Written order, and whether a collection pass that started after the write is done
#: (jobs written into the journal directly, origin '', need none).
ORDER = "written_at, origin, seq"
COLLECTED = f"(origin = '' OR written_at <= {THROUGH})"
#: Whether a pending job waits for a collection pass (its negation, as a range of the
#: written-order index: not a walk over every pending job at each pass).
WAITING_FOR_A_PASS = (f"SELECT 1 FROM jobs INDEXED BY jobs_written WHERE state = 'pending' "
                      f"AND written_at > {THROUGH} AND origin != '' LIMIT 1")

#: No job sharing a key with ``j`` running, none written before it pending.
FREE = """NOT EXISTS (
    SELECT 1 FROM job_keys mine
    JOIN job_keys other ON other.key = mine.key AND other.job_id != mine.job_id
    JOIN jobs e ON e.id = other.job_id
    WHERE mine.job_id = j.id
      AND (e.state = 'running' OR (e.state = 'pending' AND
           (e.written_at, e.origin, e.seq) < (j.written_at, j.origin, j.seq))))"""

#: The jobs that may run now: one leased to a worker that is gone, then the first
#: ``:limit`` in written order that are due and collected (two queries: each walks an
#: index in order and stops once it found enough that are free). Two pending jobs
#: sharing a key are never both free (the later has the earlier pending), so a batch
#: never holds two jobs of one instance.
CLAIMABLE = (
    f"SELECT j.id FROM jobs j WHERE j.state = 'running' AND j.lease_until < :now "
    f"AND {FREE} LIMIT 1",
    f"SELECT j.id FROM jobs j INDEXED BY jobs_written WHERE j.state = 'pending' "
    f"AND j.due <= :now AND (j.origin = '' OR j.written_at <= :through) AND {FREE} "
    f"ORDER BY j.written_at, j.origin, j.seq LIMIT :limit",
)

"""Carrying the jobs of a journal removed or replaced underneath into the one at its path.

Why: an operator (or a restore) may remove the journal, or put another file at
its path, while a worker runs. A connection that notices (:meth:`.journal.
Journal._db`) opens the file now at the path; its old connection still reads
the old file (unlinked, kept while open). The jobs that were only there
(collected from spool files already: pending, retrying, running, dead) would
be lost with it, in silence. So before that connection is closed, every job
it holds is copied into the new journal in one durable transaction, as it
was: its order keys, attempts, history, meta, written order (``written_at``,
``origin``, ``seq``) and due time; a running job stays running under its
run's lease (its run records its outcome here; a run that is gone gives it
back as its lease runs out), so no instance gets two runs at once. With them
go the spool files' offsets (the larger of the two: what the old journal
imported is not collected again) and the job numbers used (``sqlite_sequence``:
a new job never reuses a number of the old journal).

When the old file cannot be read (its main file removed alone: SQLite takes the
``-wal`` left at the path for the new file's), nothing is carried: the jobs come
back from the spool files instead, which the collector keeps until every job
they held is done (:mod:`..collector`).

Once only: every process, and every thread of one, that had the old file open
notices. The new journal keeps a mark per old file carried (``spool_state``,
``carried:<inode>``, copied on with the jobs), and a job from a spool file
the new journal holds already (same ``origin``, ``seq``, ``written_at``: a
restored copy) is not copied twice.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from typing import Any

log = logging.getLogger("nova_hookspec.worker")

_COLUMNS = ("id, plugin, hook, payload, state, enqueued, due, attempts, worker, lease_until, "
            "history, meta, written_at, origin, seq")


def _read(old: sqlite3.Connection) -> dict[str, Any]:
    """What the old journal holds that must go on, read in one snapshot."""
    old.execute("BEGIN")
    try:
        return {
            "jobs": old.execute(f"SELECT {_COLUMNS} FROM jobs ORDER BY id").fetchall(),
            "keys": old.execute("SELECT job_id, key FROM job_keys ORDER BY job_id, key")
                       .fetchall(),
            "offsets": old.execute("SELECT name, read_to FROM spool_files").fetchall(),
            "state": old.execute("SELECT what, value FROM spool_state").fetchall(),
            "last": (old.execute("SELECT seq FROM sqlite_sequence WHERE name = 'jobs'")
                     .fetchone() or (0,))[0],
        }
    finally:
        old.execute("COMMIT")


def _write(new: sqlite3.Connection, held: dict[str, Any]) -> int:
    """Insert what ``held`` holds (inside the caller's transaction); the jobs copied."""
    keys: dict[int, list[str]] = {}
    for job_id, key in held["keys"]:
        keys.setdefault(job_id, []).append(key)
    copied = 0
    for row in held["jobs"]:
        old_id, plugin, hook, origin, seq, written_at = (row[0], row[1], row[2], row[13],
                                                         row[14], row[12])
        if origin and new.execute("SELECT 1 FROM jobs WHERE origin = ? AND seq = ? AND "
                                  "written_at = ?", (origin, seq, written_at)).fetchone():
            continue  # the new journal holds it already (a restored copy)
        taken = new.execute("SELECT 1 FROM jobs WHERE id = ?", (old_id,)).fetchone()
        cur = new.execute(f"INSERT INTO jobs ({_COLUMNS}) VALUES "
                          f"({','.join('?' * 15)})", (None if taken else old_id, *row[1:]))
        new.executemany("INSERT INTO job_keys (job_id, key) VALUES (?, ?)",
                        [(cur.lastrowid, key) for key in keys.get(old_id, [f"{plugin}|"])])
        new.execute("INSERT INTO counters (plugin, hook, what, n) VALUES (?, ?, 'enqueued', 1) "
                    "ON CONFLICT (plugin, hook, what) DO UPDATE SET n = n + 1", (plugin, hook))
        copied += 1
    new.executemany("INSERT INTO spool_files (name, read_to) VALUES (?, ?) ON CONFLICT (name) "
                    "DO UPDATE SET read_to = MAX(read_to, excluded.read_to)", held["offsets"])
    new.executemany("INSERT INTO spool_state (what, value) VALUES (?, ?) ON CONFLICT (what) "
                    "DO UPDATE SET value = MAX(value, excluded.value)", held["state"])
    if not new.execute("UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'jobs'",
                       (held["last"],)).rowcount:
        new.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('jobs', ?)",
                    (held["last"],))
    return copied


def carry_over(old: sqlite3.Connection, new: sqlite3.Connection, path: str,
               inode: int | None) -> int | None:
    """Copy the jobs of ``old`` (the file with ``inode``, no longer at ``path``) into
    ``new`` (the one there now) and log it; the jobs copied, ``None`` when another
    connection carried that file's jobs already."""
    mark = f"carried:{inode}"
    try:
        held = _read(old)
    except sqlite3.Error as exc:  # the old file unreadable: nothing to carry from it
        log.error("nova_hookspec: the journal %s was removed or replaced while in use, and "
                  "the old file could not be read (%s): its jobs are imported again from "
                  "their spool files, kept until their jobs are done (a job not done runs, "
                  "with a new id; one done that shared a file with one not done runs again)",
                  path, exc)
        return 0
    new.execute("PRAGMA synchronous=FULL")  # these jobs are nowhere else once it is closed
    new.execute("BEGIN IMMEDIATE")
    try:
        if new.execute("SELECT 1 FROM spool_state WHERE what = ?", (mark,)).fetchone():
            new.execute("ROLLBACK")
            return None
        copied = _write(new, held)
        new.execute("INSERT INTO spool_state (what, value) VALUES (?, ?) ON CONFLICT (what) "
                    "DO NOTHING", (mark, time.time()))
        new.execute("COMMIT")
    except BaseException:
        new.execute("ROLLBACK")
        raise
    finally:
        new.execute("PRAGMA synchronous=NORMAL")
    states: dict[str, int] = {}
    for row in held["jobs"]:
        states[row[4]] = states.get(row[4], 0) + 1
    log.error("nova_hookspec: the journal %s was removed or replaced while in use; opened the "
              "one at its path and carried %d job(s) that were not done into it (%s; jobs "
              "still in spool files are collected into it)", path, copied,
              ", ".join(f"{n} {state}" for state, n in sorted(states.items())) or "none held")
    return copied

"""The record of what each plugin's deferred create and delete jobs delivered.

A reconcile pass needs what a plugin's external system holds. A plugin that
cannot say (no ``known_instances`` hook) is judged by this record instead:
for each plugin and instance, the kind of the last ``create_instance_post``
or ``delete_instance_post`` job of that plugin the worker finished, and when.
The instances whose last delivered kind is ``create`` are what the plugin
holds, as far as this host knows.

Where it lives: a SQLite file in the journal's spool folder,
``<journal>.spool/.delivered`` (mode 0600), written by the one-host worker when
a job is done. In the spool folder, not beside the journal: it guards what the
spool files hold (a create imported again from a kept file after the journal
was lost is not run once its instance's delete finished, :func:`overtaken`), so
it must go only with them; a journal removed as ``rm journal.sqlite*`` leaves
both. A record found where it lived before (``<journal>.delivered``) is moved
in at its first use. Standard
library only; ``synchronous=NORMAL`` (a power loss may forget the last
entries: the next pass queues those instances again, and the plugin's
observers are idempotent anyway, as at-least-once delivery asks).

Across hosts the jobs are run by the broker's workers, which do not write
this record: there it holds only what ran on this host. Plugins reconciled
across hosts implement ``known_instances``.

Writing the record never fails a job: an error is logged and the job stays
done.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import closing

from nova_hookspec.deferred import ownership, spool
from nova_hookspec.deferred.jobs import Job

log = logging.getLogger("nova_hookspec.worker")

#: The hooks whose jobs are recorded, and the kind each records.
KINDS = {"create_instance_post": "create", "delete_instance_post": "delete"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS delivered (
    plugin TEXT NOT NULL,
    instance TEXT NOT NULL,
    kind TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (plugin, instance)
)
"""

_local = threading.local()


#: The record's name in the spool folder (the collector leaves it, and its -wal, -shm).
NAME = ".delivered"


def path_of(journal: str) -> str:
    """The record of the journal at ``journal``; one found where it lived before is
    moved in first."""
    path = os.path.join(spool.folder_of(journal), NAME)
    if not os.path.exists(path) and os.path.exists(f"{journal}.delivered"):
        _move_in(f"{journal}.delivered", path)
    return path


def _move_in(old: str, path: str) -> None:
    """Move the record from ``old`` (its WAL checkpointed into it first) to ``path``."""
    try:
        with closing(sqlite3.connect(old, timeout=60.0)) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        ownership.make_folders(os.path.dirname(path))
        os.rename(old, path)
        for suffix in ("-wal", "-shm"):
            if os.path.exists(old + suffix):
                os.unlink(old + suffix)
    except (OSError, sqlite3.Error):
        log.warning("could not move the delivered record %s to %s", old, path, exc_info=True)


def _db(path: str) -> sqlite3.Connection:
    cached: dict[tuple[str, int], sqlite3.Connection] = _local.__dict__.setdefault("dbs", {})
    db = cached.get((path, os.getpid()))
    if db is None:
        if not os.path.exists(path):
            ownership.create_file(path)  # 0600, owned as its folder (a root-run worker too)
        db = sqlite3.connect(path, timeout=60.0, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(_SCHEMA)
        cached[(path, os.getpid())] = db
    return db


def close() -> None:
    """Close the calling thread's connections (a worker's lane that ends)."""
    cached: dict[tuple[str, int], sqlite3.Connection] = _local.__dict__.pop("dbs", {})
    for db in cached.values():
        db.close()


def note(journal: str, job: Job) -> None:
    """Record that ``job`` (of the journal at ``journal``) is done, if it is a create
    or a delete about some instance. Never raises."""
    note_many(journal, [job])


def note_many(journal: str, jobs: list[Job], strict: bool = False) -> None:
    """:func:`note` for several jobs done, in one transaction. Never raises, unless
    ``strict`` (the worker's committer tries again while the disk is full)."""
    rows = [(job.plugin, key, KINDS[job.hook], time.time()) for job in jobs
            if job.hook in KINDS for key in job.keys]
    if not rows:
        return
    try:
        db = _db(path_of(journal))
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(
                "INSERT INTO delivered (plugin, instance, kind, at) VALUES (?, ?, ?, ?) ON "
                "CONFLICT (plugin, instance) DO UPDATE SET kind = excluded.kind, "
                "at = excluded.at", rows)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    except Exception:
        if strict:
            raise
        log.warning("could not note %d deferred job(s) done in the delivered record %s",
                    len(jobs), path_of(journal), exc_info=True)


def deleted(journal: str, plugin: str, instances: list[str]) -> bool:
    """Whether the last delivered job of ``plugin`` for every one of ``instances`` is a
    delete: a dead create of them retried now would run after their delete finished
    (``deferred retry`` refuses it)."""
    path = path_of(journal)
    if not instances or not os.path.exists(path):
        return False
    with closing(sqlite3.connect(path, timeout=60.0)) as db:
        db.execute(_SCHEMA)
        found = _last(db, plugin, instances)
    return all(found.get(instance, ("", 0.0))[0] == "delete" for instance in instances)


def _last(db: sqlite3.Connection, plugin: str,
          instances: Sequence[str]) -> dict[str, tuple[str, float]]:
    """The kind and time of ``plugin``'s last delivered job of each of ``instances`` (those
    it has one for)."""
    marks = ",".join("?" * len(instances))
    return {row[0]: (str(row[1]), float(row[2])) for row in db.execute(
        f"SELECT instance, kind, at FROM delivered WHERE plugin = ? AND instance IN ({marks})",
        (plugin, *instances))}


def overtaken(journal: str, job: Job) -> str | None:
    """Why ``job`` must not run, or ``None``: a create of instances whose delete this
    host's worker finished after the create was written. Run now, it would put a
    deleted instance back in the plugin's system; it comes to be claimed only when it
    was imported again (a journal made anew imports the spool files still there from
    their start). Never raises: a record that cannot be read lets the job run."""
    if job.hook != "create_instance_post" or not job.keys:
        return None
    path = path_of(journal)
    if not os.path.exists(path):
        return None
    try:
        found = _last(_db(path), job.plugin, job.keys)
    except sqlite3.Error:
        log.debug("could not read the delivered record %s", path, exc_info=True)
        return None
    if all(found.get(key, ("", 0.0))[0] == "delete" and found[key][1] > job.enqueued_at
           for key in job.keys):
        return (f"the delete of its instance(s) {', '.join(job.keys)} finished after it was "
                f"written (a job imported again after the journal was made anew); run now, "
                f"it would put a deleted instance back")
    return None


def known(journal: str, plugin: str) -> Iterator[str]:
    """The instances whose last delivered job of ``plugin`` is a create, one by one."""
    path = path_of(journal)
    if not os.path.exists(path):
        return
    with closing(sqlite3.connect(path, timeout=60.0)) as db:
        db.execute(_SCHEMA)
        rows = db.execute("SELECT instance FROM delivered WHERE plugin = ? AND kind = 'create'",
                          (plugin,))
        for (instance,) in rows:
            yield str(instance)

"""The collector: imports the spool files (:mod:`.spool`) into the journal.

The worker runs a pass every poll (a thread), the relay before each read of
its outbox. One collector at a time per journal: a pass takes a
non-blocking ``flock`` on ``<journal>.collect-lock``, and whoever does not
get it skips its pass (the other one is doing it).

A pass reads each spool file from the offset recorded for it in the
journal and inserts its new jobs AND its new offset in one transaction: a
collector killed at any point neither imports a record twice nor loses
one. A file whose writer is gone (its ``flock`` can be taken exclusively),
that is read to its end and whose jobs have all left the journal (done,
relayed, dropped) is deleted, then its offset row.

Why a file is kept until its jobs are done, not only until they are
imported: the journal can be lost under a running worker in ways no carry
saves (its main file removed alone, ``rm journal.sqlite``: SQLite then takes
the old ``-wal`` left at the path for the new file's, and the old file
cannot be read), or while no process runs, or damaged. A journal made anew
holds no offsets, so the next pass imports every file still there from its
start: a job that was not done is never lost (it runs, with a new id); a
job that was done and shared its file with one that was not runs again
(at-least-once).

Power loss. The journal commits at ``synchronous=NORMAL`` (no fsync per
commit): a power loss may take the last commits back, imports, claims and
outcomes alike, and always a suffix of them (the WAL is written in order).
That loses no job while the spool file it came from is still there: its
offset rolls back with the jobs, and the next pass imports them again (a
job whose ``done`` was lost runs again: at-least-once). So the one commit
that must be durable is the last one about a file before the file is
removed: it is made with ``synchronous=FULL`` (with ``journal_sync =
full``), which syncs the WAL and every commit before it.

Order across processes. A create written by nova-api's process and the
delete written later by nova-compute's are in two files; a pass may read
the delete's file before the create's. So the journal orders an
instance's jobs by when they were *written* (``written_at``, then the file,
then its sequence number), not by when they were imported, and a job may
be claimed or relayed only once a pass that *started after it was written*
has completed (``collected_through``, the start of the last complete pass,
kept in the journal). Why that is enough: the delete's call started after
the create's call returned, so the create's record was in its file (the
write completes before the call returns) before the delete's
``written_at`` was taken. A pass that started at or after that
``written_at`` listed the folder and read every file after the create's
record was there: when it completes the create is in the journal, with an
earlier ``written_at``, and the delete waits behind it. A pass that started
earlier may have imported the delete and not the create; the delete is
then not claimable until the next pass. Two calls that overlap in time have
no order to keep; a job imported late never runs beside one sharing its
instance (a running job holds back every other one of its keys). This
relies on one clock for the host's processes (``time.time()``); a clock
stepped backwards by more than a pass's length can reorder two jobs
written within that step.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time

from nova_hookspec.deferred import ownership, spool
from nova_hookspec.deferred.brokers.journal import Journal

log = logging.getLogger("nova_hookspec")

#: Seconds after which a hidden (half-created) spool file of a dead writer is removed.
HIDDEN_AGE = 60.0

#: Seconds between two looks at a file whose writer is gone, read to its end, that is
#: kept for its jobs not done yet (retrying, dead): nothing can be added to it, so a
#: pass every poll need not open it again; a backlog of many prefork children's files
#: would cost each pass an open, a lock and a query per file.
PARKED_FOR = 5.0


class Collector:
    """Collects the spool of ``journal`` into it."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.folder = spool.folder_of(journal.path)
        self._lock_path = journal.path + ".collect-lock"
        self._lock: int | None = None
        #: Files kept for their jobs, by name: when to look at them again.
        self._parked: dict[str, float] = {}

    def _take(self) -> bool:
        if self._lock is None:
            self._lock = ownership.open_shared(self._lock_path, os.O_RDWR | os.O_CLOEXEC)
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def collect(self, every_file: bool = False) -> int | None:
        """One pass; the jobs imported, or ``None`` when another collector runs one.

        :param every_file: look at the parked files too (:data:`PARKED_FOR`): a worker's
            last pass, which removes every file whose jobs are done."""
        if not self._take():
            return None
        assert self._lock is not None
        try:
            started = time.time()
            imported = self._pass(every_file)
            self.journal.collected(started)
            return imported
        finally:
            fcntl.flock(self._lock, fcntl.LOCK_UN)

    def _pass(self, every_file: bool) -> int:
        offsets = self.journal.spool_offsets()
        names = spool.files(self.folder)
        imported, now = 0, time.monotonic()
        for name in names:
            if (not every_file and name in offsets
                    and now < self._parked.get(name, now)):
                continue  # kept for its jobs, looked at a moment ago (a journal made
                # anew has no offset for it: it is imported again at once)
            self._parked.pop(name, None)
            imported += self._file(name, offsets.get(name, 0))
        present = set(names)
        for name in set(self._parked) - present:
            del self._parked[name]  # removed meanwhile (by an operator, another pass)
        gone = [name for name in offsets if name not in present]
        if gone:
            self.journal.spool_forget(gone)
        self._hidden()
        return imported

    def _file(self, name: str, offset: int) -> int:
        path = os.path.join(self.folder, name)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return 0
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                ended = True  # its writer is gone: nobody appends any more
            except BlockingIOError:
                ended = False
            data, size = spool.read(path, offset)
            records, end, damaged = [], offset, 0
            for record, after in spool.parse(data):
                if record is None:
                    damaged += 1
                else:
                    records.append({**record, "file": name})
                end = offset + after
            if damaged:
                log.error("nova_hookspec: spool file %s: %d damaged record(s) skipped", path,
                          damaged)
            if ended and end < size:
                log.error("nova_hookspec: spool file %s: a torn last record (%d bytes, its "
                          "writer ended mid-write) skipped", path, size - end)
                end = size
            if end != offset:
                self.journal.import_spooled(name, records, end)
            if ended and self.journal.holds_spooled(name):
                self._parked[name] = time.monotonic() + PARKED_FOR
            elif ended:
                # Every job it held is done (or relayed). Before the file goes, that must
                # survive a power loss: a durable (FULL) commit, and with it every one
                # before it (its imports and their outcomes).
                self.journal.import_spooled(name, [], end, durable=True)
                os.unlink(path)
                self.journal.spool_forget([name])
            return len(records)
        finally:
            os.close(fd)

    def _hidden(self) -> None:
        now = time.time()
        for name in spool.hidden(self.folder):
            path = os.path.join(self.folder, name)
            try:
                if now - os.stat(path).st_mtime < HIDDEN_AGE:
                    continue
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                os.unlink(path)
            except (BlockingIOError, FileNotFoundError):
                pass
            finally:
                os.close(fd)

    def close(self) -> None:
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

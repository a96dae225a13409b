"""The journal removed or replaced under a running worker while its jobs retry in it.

Found by a hostile review (scenF): those jobs had been collected from their
spool files, so they were only in the journal; the worker opened the file
now at the path and they were lost in silence, its ERROR line saying that
the spool is collected again, and ``deferred status`` looked clean. A real
worker process, a plugin that fails (retried with a backoff), then works:
every job runs to the end once (:mod:`nova_hookspec.deferred.brokers.journal_rescue`).
"""

from __future__ import annotations

import os
import signal
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
import test_deferred
from test_deferred import Host, done_creates

#: test_deferred.py's host fixture: its journal, the ledger plugin, its processes.
host = test_deferred.host


def _empty_journal(path: Path) -> None:
    """A new journal, as nova_hookspec makes one, closed (no -wal, no -shm left)."""
    from nova_hookspec.deferred.brokers.journal import Journal

    made = Journal(str(path))
    made.close_all()


@pytest.mark.parametrize("how", ["removed", "replaced"])
def test_jobs_retrying_in_a_journal_removed_underneath_are_carried_over(
        host: Host, tmp_path: Path, how: str) -> None:
    (host.gates / "down").touch()
    worker = host.start("-m", "nova_hookspec", "worker")
    retrying = host.calls(3)
    spool = host.journal.parent / (host.journal.name + ".spool")
    # Each job failed at least once: collected, they retry in the journal (their spool
    # file is kept until they are done, and must not be imported twice).
    host.wait_for(lambda: host.lines().count(["down"]) >= 3, "three failed runs")
    assert [p for p in spool.iterdir() if not p.name.startswith(".")], "the spool file is kept"
    if how == "replaced":
        _empty_journal(tmp_path / "empty.sqlite")
    for leftover in host.journal.parent.glob(host.journal.name + "*"):
        if leftover.is_file():
            leftover.unlink()  # the journal and its -wal and -shm
    if how == "replaced":
        os.replace(tmp_path / "empty.sqlite", host.journal)
    later = host.calls(1)
    (host.gates / "down").unlink()  # the plugin works again
    host.wait_for(lambda: len(done_creates(host)) >= 4, "every job ran to its end")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=120) == 0
    # The ledger: each job ended once, none lost; the carried ones kept their attempts
    # (the run that ended is a later attempt than a failed one).
    ended = done_creates(host)
    assert sorted(line[2] for line in ended) == sorted([*retrying, *later]), host.lines()
    assert all(int(line[4]) >= 2 for line in ended if line[2] in retrying), ended
    log = (host.ledger.parent / "processes.log").read_text()
    assert (f"the journal {host.journal} was removed or replaced while in use; opened the one "
            f"at its path and carried 3 job(s) that were not done into it") in log, log
    status = host.status()
    assert (status["pending"], status["running"], status["dead"]) == (0, 0, 0)
    # A later job's number is not one of the old journal's (ids kept for the carried).
    with closing(sqlite3.connect(host.journal)) as db, db:
        assert db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'jobs'").fetchone()[0] >= 4

"""A journal lost in ways nothing can carry from, through real processes: no job lost.

The journal's main file removed alone under a running worker (``rm
journal.sqlite``, its ``-wal`` and ``-shm`` left: SQLite takes the old WAL
for the new file's, and the old file cannot be read), or the whole journal
deleted while no process runs. Spool files are kept until every job they
held is done, so a journal made anew imports the jobs again; a create
imported again whose instance's delete finished since is not run.

Each test ends with a ledger check: which instance's create and delete ran,
how often.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sitehelper import Site
from test_deferred import CALLS, PLUGIN, Host, done_creates

DELETE = '''
import sys
import nova_hookspec
from nova_hookspec._nova.standins import Instance, RequestContext

@nova_hookspec.add_hook("delete_instance")
def delete(self, context, instance, bdms):
    instance.deleted = True

delete(None, RequestContext(project_id="p-1"), Instance(uuid=sys.argv[1]), [])
'''


@pytest.fixture
def host(site: Site, tmp_path: Path) -> Iterator[Host]:
    site.add_dist("acme-ledger", {"nova_hookspec": ["ledger = acme_ledger:LEDGER"]},
                  {"acme_ledger": PLUGIN, "acme_calls": CALLS, "acme_delete": DELETE})
    made = Host(site, tmp_path)
    yield made
    made.close()


def forget_the_journal(host: Host) -> None:
    """The journal deleted with its ``-wal`` and ``-shm`` (its spool and mark left)."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{host.journal}{suffix}").unlink(missing_ok=True)


def created(host: Host) -> Counter[str]:
    return Counter(line[2] for line in done_creates(host))


def deleted(host: Host) -> Counter[str]:
    return Counter(line[2] for line in host.lines() if line[:2] == ["done", "delete"])


def worker_log(host: Host) -> str:
    return (host.ledger.parent / "processes.log").read_text()


def test_the_main_file_removed_alone_under_a_worker_loses_no_job(host: Host) -> None:
    worker = host.start("-m", "nova_hookspec", "worker")
    (host.gates / "block").touch()
    first = host.calls(4)  # one runs (held by the gate), three wait behind it
    host.wait_for(lambda: any(line[:2] == ["start", "create"] for line in host.lines()),
                  "the first create started")
    host.journal.unlink()  # as `rm journal.sqlite`: its -wal and -shm stay
    second = host.calls(3)
    (host.gates / "block").unlink()
    host.wait_for(lambda: set(created(host)) == {*first, *second}, "every create ran")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=120) == 0
    host.drain()
    assert "imported again from their spool files" in worker_log(host)
    ran = created(host)
    # The ledger: every create ran; the later calls' once each; of the first call's,
    # at most the one running at the removal twice (its done went with the old file).
    assert set(ran) == {*first, *second}
    assert all(ran[uuid] == 1 for uuid in second), ran
    assert sum(ran[uuid] for uuid in first) <= len(first) + 1, ran
    assert host.status()["pending"] == 0


def test_a_journal_deleted_while_no_process_runs_loses_no_pending_job(host: Host) -> None:
    (host.gates / "down").touch()  # the inventory is down: the jobs retry
    uuids = host.calls(3)
    worker = host.start("-m", "nova_hookspec", "worker")
    host.wait_for(lambda: [line[0] for line in host.lines()].count("down") >= 2,
                  "the first create failed twice")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=120) == 0
    forget_the_journal(host)  # the jobs were only in the journal once imported
    (host.gates / "down").unlink()
    host.drain()
    # The ledger: the three creates ran, once each, in the order of their calls.
    assert [line[2] for line in done_creates(host)] == uuids
    assert host.status()["pending"] == 0
    spooled = Path(f"{host.journal}.spool")
    assert [f.name for f in spooled.iterdir() if not f.name.startswith(".")] == []


def created_and_deleted_by_a_writer_that_lives_on(
        host: Host) -> tuple[subprocess.Popen[str], str]:
    """An instance created by a process that lives on (its spool file stays) and deleted
    by another, both jobs run; the living writer and the instance."""
    writer = host.start("-c", "import acme_calls", "1", env={"LINGER": "1"}, read=True)
    assert writer.stdout is not None
    [uuid] = writer.stdout.readline().split()[1:]  # RETURNED <uuid>; it lives on
    deleting = host.run("-c", "import acme_delete", uuid)
    assert deleting.returncode == 0, deleting.stderr
    host.drain()
    assert (created(host), deleted(host)) == (Counter([uuid]), Counter([uuid]))
    return writer, uuid


def test_a_create_imported_again_after_its_delete_finished_is_not_run(host: Host) -> None:
    writer, uuid = created_and_deleted_by_a_writer_that_lives_on(host)
    # The create's spool file stays (its writer lives); the delete's is gone (done).
    forget_the_journal(host)
    again = host.drain()
    assert "not run: the delete of its instance(s)" in again.stderr, again.stderr
    # The ledger: the create ran once, never after its delete; the delete once.
    assert (created(host), deleted(host)) == (Counter([uuid]), Counter([uuid]))
    assert host.status()["pending"] == 0
    writer.kill()


def test_a_create_imported_again_after_rm_journal_star_is_not_run(host: Host) -> None:
    """The journal removed as the docs once said, ``rm journal.sqlite*``: its
    ``.delivered`` and ``.ids`` go too; the create kept in a living writer's file must
    still not run after its instance's delete."""
    writer, uuid = created_and_deleted_by_a_writer_that_lives_on(host)
    for path in host.journal.parent.glob(f"{host.journal.name}*"):
        if path.is_file():
            path.unlink()
    again = host.drain()
    writer.kill()
    # The ledger: the create ran once, never after its delete; the delete once.
    assert (created(host), deleted(host)) == (Counter([uuid]), Counter([uuid])), again.stderr


def test_a_living_writers_done_jobs_do_not_all_run_again_after_the_journal_is_lost(
        host: Host) -> None:
    """A long-lived writer (nova-compute) starts a new spool file once its file is
    large (here: after every job); a file it left goes once its jobs are done, so a
    journal made anew runs again at most the jobs of the file it writes to."""
    small = "from nova_hookspec.deferred import spool; spool.ROTATE_BYTES = 1\n"
    writer = host.start("-c", small + "import acme_calls", "3", env={"LINGER": "1"},
                        read=True)
    assert writer.stdout is not None
    uuids = writer.stdout.readline().split()[1:]  # RETURNED <uuid> x3; it lives on
    host.drain()
    assert created(host) == Counter(uuids)
    forget_the_journal(host)
    host.drain()
    writer.kill()
    # The ledger: each create ran once; the living writer's left files were removed.
    assert created(host) == Counter(uuids)


#: Kills the worker (SIGKILL) as it is about to note a delete in the delivered record.
KILL_AT_NOTE = """
import os
if os.environ.get("KILL_AT_NOTE"):
    from nova_hookspec.deferred import delivered
    _real = delivered.note_many
    def note_many(journal, jobs, strict=False):
        if any(job.hook == "delete_instance_post" for job in jobs):
            os.kill(os.getpid(), 9)
        return _real(journal, jobs, strict)
    delivered.note_many = note_many
"""


def test_a_worker_killed_as_it_notes_a_delete_lets_no_create_run_after_it(
        site: Site, host: Host) -> None:
    """SIGKILL between a delete's run and its note in the delivered record, then the
    journal lost: the create kept in its living writer's file must not run again."""
    site.add_module("sitecustomize", KILL_AT_NOTE)
    writer = host.start("-c", "import acme_calls", "1", env={"LINGER": "1"}, read=True)
    assert writer.stdout is not None
    [uuid] = writer.stdout.readline().split()[1:]  # RETURNED <uuid>; it lives on
    deleting = host.run("-c", "import acme_delete", uuid)
    assert deleting.returncode == 0, deleting.stderr
    killed = host.start("-m", "nova_hookspec", "worker", env={"KILL_AT_NOTE": "1"})
    assert killed.wait(timeout=120) == -signal.SIGKILL
    host.drain()  # what the killed worker left; the delete's spool file goes
    forget_the_journal(host)
    again = host.drain()
    writer.kill()
    # The ledger: the create ran once, never after its delete.
    assert created(host) == Counter([uuid]), again.stderr
    assert deleted(host)[uuid] >= 1


def test_an_older_copy_restored_with_the_mark_raised_gives_no_job_an_id_a_plugin_saw(
        host: Host, tmp_path: Path) -> None:
    """An older copy of the journal fewer than a step of numbers behind the mark is not
    told from the journal it replaced (docs/deferred.md says so, and the remedy): once
    the operator raised the mark by 1,000, its next job is numbered after it."""
    host.calls(2)
    host.drain()
    backup = tmp_path / "backup.sqlite"
    shutil.copy(host.journal, backup)  # no worker runs: no -wal left
    host.calls(2)
    host.drain()
    forget_the_journal(host)
    shutil.copy(backup, host.journal)  # as `cp backup.sqlite journal.sqlite`
    mark = Path(f"{host.journal}.ids")
    mark.write_text(f"{int(mark.read_text()) + 1000}\n")  # the documented remedy
    [last] = host.calls(1)
    host.drain()
    started = [(line[2], line[3]) for line in host.lines() if line[:2] == ["start", "create"]]
    # The ledger: five creates ran once each; the last one's id is none seen before.
    assert len(started) == 5, started
    assert len({uuid for uuid, _ in started}) == 5, started
    assert started[-1][0] == last
    assert started[-1][1] not in {job for _, job in started[:-1]}, started


def test_a_delivered_record_at_its_former_place_is_moved_into_the_spool_folder(
        tmp_path: Path) -> None:
    import sqlite3

    from nova_hookspec.deferred import delivered

    journal = str(tmp_path / "journal.sqlite")
    with sqlite3.connect(f"{journal}.delivered") as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE delivered (plugin TEXT NOT NULL, instance TEXT NOT NULL, "
                   "kind TEXT NOT NULL, at REAL NOT NULL, PRIMARY KEY (plugin, instance))")
        db.execute("INSERT INTO delivered VALUES ('p', 'i-1', 'create', 1.0)")
    db.close()
    assert list(delivered.known(journal, "p")) == ["i-1"]
    assert not Path(f"{journal}.delivered").exists()
    assert Path(f"{journal}.spool/.delivered").exists()

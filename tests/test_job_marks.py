"""The job-number mark beside the journal (``<journal>.ids``) when it is damaged or
deleted, and the odd inputs around it, through the installed CLI in subprocesses.

From a hostile review: a damaged mark was read as 0 (ids repeated once the journal
was lost), a huge one gave tracebacks from the worker and from ``deferred status``,
a mark deleted while the worker ran was not written again, and a failed write's
error was hidden behind "cannot rollback - no transaction is active".
"""

from __future__ import annotations

import signal
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from sitehelper import Site
from test_deferred import Host

CALLS = '''
import os, sys
import nova_hookspec
from nova_hookspec._nova.standins import Instance, RequestContext

@nova_hookspec.add_hook("create_instance")
def create(self, context, flavor, image_href, admin_password=None):
    return [Instance(hostname=image_href)], "r-" + image_href

names = [f"{os.environ['CALLS_NAMES']}{i}" for i in range(int(sys.argv[1]))]
for name in names:
    create(None, RequestContext(project_id="p-1"), "m1", name)
print("RETURNED", " ".join(names), flush=True)
'''

PLUGIN = '''
import os
import nova_hookspec

class Ids:
    @nova_hookspec.hookimpl(deferred=True)
    def create_instance_post(self, result, delivery):
        with open(os.environ["LEDGER"], "a") as f:
            f.write(f"ran {result[0][0].hostname} {delivery.job_id.rpartition(':')[2]}\\n")

IDS = Ids()
'''


@pytest.fixture
def host(site: Site, tmp_path: Path) -> Iterator[Host]:
    site.add_dist("acme-ids", {"nova_hookspec": ["ids = acme_ids:IDS"]},
                  {"acme_ids": PLUGIN, "acme_calls": CALLS})
    made = Host(site, tmp_path)
    made.journal.parent.mkdir()
    yield made
    made.close()


def mark(host: Host) -> Path:
    return Path(f"{host.journal}.ids")


def ran(host: Host) -> list[tuple[str, int]]:
    """(instance, job number) of each run, in order."""
    return [(name, int(number)) for _, name, number in host.lines()]


def forget_the_journal(host: Host) -> None:
    """The journal deleted while no process runs (its mark left)."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{host.journal}{suffix}").unlink(missing_ok=True)


def one_line(done: object, *said: str) -> None:
    stderr = done.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if "discovery" not in line]
    assert len(lines) == 1, stderr
    for part in said:
        assert part in lines[0], stderr


@pytest.mark.parametrize("content", [
    "garbage", "", "-5", "1e20", "100000000000000000000", "9223372036854775807",
    "9223372036854774000", str(2**62 + 1),
])
def test_a_damaged_mark_before_a_new_journal_is_refused_in_one_line(
        host: Host, content: str) -> None:
    mark(host).write_text(content)
    host.calls(2, CALLS_NAMES="a")
    refused = host.run("-m", "nova_hookspec", "worker", "--drain")
    assert refused.returncode == 1
    one_line(refused, "nova-hookspec worker:", str(mark(host)), "is damaged")
    looked = host.run("-m", "nova_hookspec", "deferred", "status")
    assert looked.returncode != 0
    one_line(looked, "nova-hookspec deferred:", str(mark(host)), "is damaged")
    checked = host.run("-m", "nova_hookspec", "check")
    assert checked.returncode == 1
    assert f"{mark(host)} is damaged" in checked.stdout
    assert mark(host).read_text() == content  # never moved past int64
    assert ran(host) == []
    # The operator writes the highest number handed out: the jobs run, numbered after it.
    mark(host).write_text("5000\n")
    host.drain()
    assert ran(host) == [("a0", 5001), ("a1", 5002)]


def test_a_damaged_mark_beside_a_journal_goes_on_from_its_numbers(host: Host) -> None:
    host.calls(3, CALLS_NAMES="a")
    host.drain()
    mark(host).write_text("garbage")
    host.calls(2, CALLS_NAMES="b")
    done = host.drain()
    said = [line for line in done.stderr.splitlines() if "is damaged" in line]
    assert len(said) == 1, done.stderr
    assert str(mark(host)) in said[0]
    assert "ERROR" in said[0]
    assert int(mark(host).read_text()) >= 5  # written anew
    forget_the_journal(host)
    host.calls(2, CALLS_NAMES="c")
    host.drain()
    assert [name for name, _ in ran(host)] == ["a0", "a1", "a2", "b0", "b1", "c0", "c1"]
    numbers = [number for _, number in ran(host)]
    assert numbers[:5] == [1, 2, 3, 4, 5]
    assert len(set(numbers)) == 7  # no id handed out twice
    assert min(numbers[5:]) > 5


def test_a_mark_deleted_while_the_worker_runs_is_written_again(host: Host) -> None:
    worker = host.start("-m", "nova_hookspec", "worker")
    host.calls(2, CALLS_NAMES="a")
    host.wait_for(lambda: len(host.lines()) == 2, "the first two jobs ran")
    mark(host).unlink()
    host.calls(1, CALLS_NAMES="b")
    host.wait_for(lambda: len(host.lines()) == 3, "the third job ran")
    assert mark(host).exists()
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=120) == 0
    # Stopped, the worker left no spool file of a writer gone (its last pass removed
    # them): a journal made anew would import their jobs again, and run them twice.
    spooled = Path(f"{host.journal}.spool")
    assert [f.name for f in spooled.iterdir() if not f.name.startswith(".")] == []
    forget_the_journal(host)
    host.calls(1, CALLS_NAMES="c")
    host.drain()
    assert [name for name, _ in ran(host)] == ["a0", "a1", "b0", "c0"]
    numbers = [number for _, number in ran(host)]
    assert numbers[:3] == [1, 2, 3]
    assert numbers[3] > 3


def test_a_failed_write_says_its_own_error_not_the_rollback(host: Host) -> None:
    host.calls(1, CALLS_NAMES="a")
    host.drain()
    with closing(sqlite3.connect(host.journal)) as db, db:  # the ids are used up: SQLITE_FULL
        db.execute("UPDATE sqlite_sequence SET seq = 9223372036854775807")
    host.calls(1, CALLS_NAMES="b")
    failed = host.run("-m", "nova_hookspec", "worker", "--drain", timeout=120)
    assert failed.returncode != 0
    assert "database or disk is full" in failed.stderr, failed.stderr
    assert "cannot rollback" not in failed.stderr, failed.stderr
    assert ran(host) == [("a0", 1)]


def test_a_journal_under_a_file_is_unusable(host: Host, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    env = {"NOVA_HOOKSPEC_JOURNAL": str(tmp_path / "file" / "journal.sqlite")}
    checked = host.run("-m", "nova_hookspec", "check", env=env)
    assert checked.returncode == 1
    assert f"{tmp_path / 'file'} is not a folder" in checked.stdout
    assert "UNUSABLE" in checked.stdout
    looked = host.run("-m", "nova_hookspec", "deferred", "status", env=env)
    assert looked.returncode == 2
    one_line(looked, "nova-hookspec deferred: the journal", "Not a directory")


@pytest.mark.parametrize("job_id", [
    "\N{FULLWIDTH DIGIT ZERO}\N{FULLWIDTH DIGIT ONE}",
    "vm:\N{FULLWIDTH DIGIT ZERO}\N{FULLWIDTH DIGIT ONE}",
    "1\N{ARABIC-INDIC DIGIT ONE}",
])
def test_a_job_id_in_other_digits_is_refused(host: Host, job_id: str) -> None:
    host.calls(1, CALLS_NAMES="a")
    host.drain()
    refused = host.run("-m", "nova_hookspec", "deferred", "retry", job_id)
    assert refused.returncode == 2
    assert f"{job_id!r} is not a job id" in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr
    assert ran(host) == [("a0", 1)]


def test_a_count_over_its_bound_is_not_said_in_seconds(host: Host) -> None:
    refused = host.run("-m", "nova_hookspec", "worker", "--drain",
                       env={"NOVA_HOOKSPEC_MAX_ATTEMPTS": "100000000"})
    assert refused.returncode == 1
    one_line(refused, "setting max_attempts = 100000000", "must be at most 3.1536e+07")
    assert "seconds" not in refused.stderr

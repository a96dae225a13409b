"""A full disk under the one-host journal, for real (issue 28, "What to build" 7).

The journal lives on a small tmpfs mounted in a mount namespace of its own
(``unshare --user --map-root-user --mount``, no root needed); every process of
the host (the hooked calls, the worker, the commands) joins it with ``nsenter``.
The plugin fills that disk itself while it runs, so the worker's ``done()``
meets a real ``SQLITE_FULL``/``ENOSPC``. What an operator must see: the lane
and the worker go on, the outcome is recorded once there is room again without
the plugin running again, the trouble is logged once (not once per retry),
and ``deferred status`` still answers while the disk is full. Every test ends
with a ledger check.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sitehelper import Site
from test_deferred import Host
from test_time_limits import CALLS

PLUGIN = '''
import os, time
from pathlib import Path
import nova_hookspec

def _ledger(line):
    with open(os.environ["LEDGER"], "a") as f:
        f.write(line + "\\n")

class Filler:
    @nova_hookspec.hookimpl(deferred=True)
    def create_instance_post(self, result, delivery):
        name = result[0][0].hostname
        _ledger(f"start {name} {delivery.attempt}")
        if name == "fill":  # the disk is full when the worker records this run
            while not Path(os.environ["GATES"], "go").exists():
                time.sleep(0.02)
            with open(os.environ["FILLER"], "ab", buffering=0) as f:
                try:
                    while True:
                        f.write(b"x" * 4096)
                except OSError:
                    pass
        _ledger(f"done {name} {delivery.attempt}")

FILLER = Filler()
'''

#: The small disk: room for the journal, its spool and WAL, and little more.
SIZE = "4m"


class Disk:
    """A tmpfs at ``where``, in a mount namespace held by a sleeping process."""

    def __init__(self, where: Path) -> None:
        where.mkdir(parents=True, exist_ok=True)
        self.holder = subprocess.Popen(
            ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
             f'mount -t tmpfs -o size={SIZE} tmpfs "$0" && echo ready && exec sleep 3600',
             str(where)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.holder.stdout is not None
        if self.holder.stdout.readline().strip() != "ready":
            self.holder.kill()
            _out, err = self.holder.communicate()
            pytest.skip(f"no user and mount namespaces here: {err.strip()}")
        self.where = where
        #: The command line that runs a program inside the namespace.
        self.enter = ["nsenter", "--target", str(self.holder.pid), "--user", "--mount",
                      "--preserve-credentials"]

    def inside(self, path: Path) -> Path:
        """``path`` (under the disk) as seen from outside the namespace."""
        return Path(f"/proc/{self.holder.pid}/root") / path.relative_to("/")

    def close(self) -> None:
        self.holder.kill()
        self.holder.communicate()


@pytest.fixture
def host(site: Site, tmp_path: Path) -> Iterator[Host]:
    if shutil.which("unshare") is None or shutil.which("nsenter") is None:
        pytest.skip("util-linux's unshare and nsenter are needed")
    site.add_dist("acme-filler", {"nova_hookspec": ["filler = acme_filler:FILLER"]},
                  {"acme_filler": PLUGIN, "acme_calls": CALLS})
    made = Host(site, tmp_path)
    disk = Disk(made.journal.parent)
    made.prefix = disk.enter
    made.env["FILLER"] = str(made.journal.parent / "filler")
    made.env["NOVA_HOOKSPEC_LEASE"] = "1"  # the disk stays full longer than a lease
    made.disk = disk  # type: ignore[attr-defined]
    yield made
    made.close()
    disk.close()


def test_a_full_disk_at_done_is_recorded_once_there_is_room_without_running_again(
        host: Host) -> None:
    disk: Disk = host.disk  # type: ignore[attr-defined]
    log = host.ledger.parent / "processes.log"
    host.calls(1, CALLS_NAMES="fill")
    worker = host.start("-m", "nova_hookspec", "worker", "--lanes", "2")
    host.wait_for(lambda: ["start", "fill", "1"] in host.lines(), "the plugin started")
    # A job spooled now is collected while the disk is full: it waits, and runs after.
    host.calls(1, CALLS_NAMES="queued")
    (host.gates / "go").touch()
    host.wait_for(lambda: ["done", "fill", "1"] in host.lines(), "the plugin ran")
    # The delivered record is noted first (then the outcome): either waits for room.
    host.wait_for(lambda: log.exists() and ("could not record" in log.read_text()
                                            or "could not note" in log.read_text()),
                  "the worker says it cannot record the outcome")
    # The disk stays full over several retries and past the job's lease.
    time.sleep(4)
    # The runs that ended before the look (read first: "queued" may run meanwhile).
    ended = [line for line in host.lines() if line[0] == "done"]
    full = host.status()  # a read-only command answers on the full disk
    # Every run that ended is recorded done or still running, its outcome waiting for
    # room: "fill" waits; "queued" too if it ran beside it after the disk filled (or
    # it is claimed, its start waiting for room). An outcome lost would run its job
    # again: the ledger below says each ran once.
    recorded = {row["what"]: row["count"] for row in full["counters"]}  # type: ignore[union-attr]
    assert full["dead"] == 0
    assert full["running"] >= 1
    assert full["running"] + recorded.get("done", 0) >= len(ended), (full, ended)
    disk.inside(host.journal.parent / "filler").unlink()
    host.wait_for(lambda: host.status()["running"] == 0, "the outcome is recorded")
    host.calls(1, CALLS_NAMES="after")  # the lanes go on
    host.wait_for(lambda: ["done", "after", "1"] in host.lines(), "the next job ran")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=60) == 0
    after = host.status()
    counters = {row["what"]: row["count"] for row in after["counters"]}  # type: ignore[union-attr]
    assert (after["pending"], after["running"], after["dead"]) == (0, 0, 0)
    assert counters.get("done") == 3
    assert "retried" not in counters
    # The ledger: each job ran once (its first attempt); the full disk ran nothing again.
    ran = [" ".join(line) for line in host.lines()]
    assert sorted(ran) == ["done after 1", "done fill 1", "done queued 1",
                           "start after 1", "start fill 1", "start queued 1"]
    assert ran[0] == "start fill 1"  # "queued" may run beside it before the disk fills
    # "after" was written once the disk had room; "queued" may run beside it then.
    assert ran.index("done fill 1") < ran.index("start after 1") < ran.index("done after 1")
    text = log.read_text()
    # Once per episode, not per retry: the committer's first write that waits for room
    # (the delivered record, noted first, or the outcomes), then it records the waiting
    # outcomes together once the disk has room.
    waited = text.count("could not record") + text.count("could not note")
    assert waited == 1, text
    assert len(re.findall(r"(record \d+ deferred job outcome\(s\)|note \d+ deferred "
                          r"job\(s\) in the delivered record): it worked again after",
                          text)) == 1, text
    assert text.count("could not collect") <= 1, text  # a pass may fall in the episode
    assert "Traceback" not in text


def test_status_answers_on_a_full_disk_with_no_worker_running(host: Host) -> None:
    disk: Disk = host.disk  # type: ignore[attr-defined]
    host.calls(1, CALLS_NAMES="first")
    host.drain()
    host.calls(1, CALLS_NAMES="second")  # spooled, not collected: pending
    # The last connection closes cleanly: SQLite folds its -wal in and removes it and
    # the -shm (as after a worker's clean stop); a reader must make them again.
    closed = host.run("-c", "import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); "
                      "db.execute('SELECT COUNT(*) FROM jobs'); db.close()", str(host.journal))
    assert closed.returncode == 0, closed.stderr
    names = {path.name for path in disk.inside(host.journal.parent).iterdir()}
    assert "journal.sqlite" in names, names
    assert "journal.sqlite-wal" not in names, names
    (host.gates / "go").touch()
    filled = host.run("-c", "import acme_filler; acme_filler.FILLER.create_instance_post("
                      "[[type('I', (), {'hostname': 'fill'})()]], "
                      "type('D', (), {'attempt': 0})())")
    assert filled.returncode == 0, filled.stderr
    done = host.run("-m", "nova_hookspec", "deferred", "status")
    assert done.returncode == 0, done.stderr
    assert ": 1 pending, 0 running, 0 dead;" in done.stdout, done.stdout
    assert "1 of the pending jobs not collected yet" in done.stdout
    assert "create_instance_post  done: 1" in done.stdout
    assert "read as it is on disk" in done.stderr
    listed = host.run("-m", "nova_hookspec", "deferred", "list")
    assert listed.returncode == 0, listed.stderr
    assert "pending" in listed.stdout
    assert "create_instance_post" in listed.stdout
    disk.inside(host.journal.parent / "filler").unlink()
    after = host.status()
    assert (after["pending"], after["running"], after["dead"]) == (1, 0, 0)
    assert [" ".join(line) for line in host.lines()] == [
        "start first 1", "done first 1", "start fill 0", "done fill 0"]


def test_check_reports_a_full_disk_and_exits_1(host: Host) -> None:
    """A hostile review: ``check`` said "journal ...: ok" and exited 0 while the disk
    under the journal and its spool was full (every hooked call then ran its deferred
    plugins in the call, and the worker could record no outcome)."""
    disk: Disk = host.disk  # type: ignore[attr-defined]
    worker = host.start("-m", "nova_hookspec", "worker")  # its journal open, -wal and all
    host.calls(1, CALLS_NAMES="first")
    host.wait_for(lambda: ["done", "first", "1"] in host.lines(), "the job ran")
    host.wait_for(lambda: host.status()["running"] == 0, "its outcome recorded")
    fine = host.run("-m", "nova_hookspec", "check")
    assert fine.returncode == 0, fine.stdout + fine.stderr
    assert f"journal {host.journal}: ok, 0 pending, 0 dead" in fine.stdout
    (host.gates / "go").touch()
    filled = host.run("-c", "import acme_filler; acme_filler.FILLER.create_instance_post("
                      "[[type('I', (), {'hostname': 'fill'})()]], "
                      "type('D', (), {'attempt': 0})())")
    assert filled.returncode == 0, filled.stderr
    full = host.run("-m", "nova_hookspec", "check")
    assert full.returncode == 1, full.stdout + full.stderr
    said = f"the disk of {host.journal.parent} is full (0 bytes free"
    assert said in full.stdout, full.stdout
    assert f"journal {host.journal}: UNUSABLE (the warning above)\n" in full.stdout
    assert "Traceback" not in full.stderr
    document = json.loads(host.run("-m", "nova_hookspec", "check", "--json").stdout)
    assert document["status"] == 1
    assert document["deferred"]["healthy"] is False
    assert said in document["deferred"]["problem"]
    disk.inside(host.journal.parent / "filler").unlink()
    again = host.run("-m", "nova_hookspec", "check")
    assert again.returncode == 0, again.stdout + again.stderr
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=60) == 0
    # The ledger: looking ran nothing; the job ran once, the filler once in this test.
    assert [" ".join(line) for line in host.lines()] == [
        "start first 1", "done first 1", "start fill 0", "done fill 0"]

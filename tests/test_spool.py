"""The hooked call's write waits on no other process (issue 28, item 1).

Real processes and real files: callers that fork after their first write
and exit, a lock held by another process (SQLite's ``BEGIN IMMEDIATE`` and
``flock`` on every lock file), an eventlet process, eight writers with a
worker draining, a spool file removed and replaced underneath, and a
collection pass driven by hand between a create and its delete. Each test
ends with a ledger check: the plugin appends one line per run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sitehelper import Site

PLUGIN = '''
import os
import nova_hookspec

def _ledger(line):
    with open(os.environ["LEDGER"], "a") as f:
        f.write(line + "\\n")

class Ledger:
    @nova_hookspec.hookimpl(deferred=True)
    def create_instance_post(self, result, delivery):
        job = delivery.job_id if delivery else "in-call"  # None: run in the call
        for inst in result[0]:
            _ledger(f"create {inst.uuid} {job}")

    @nova_hookspec.hookimpl(deferred=True)
    def delete_instance_post(self, instance, delivery):
        _ledger(f"delete {instance.uuid} {delivery.job_id if delivery else 'in-call'}")

LEDGER = Ledger()
'''

CALLS = '''
import os
import nova_hookspec
from nova_hookspec._nova.standins import Instance, RequestContext

@nova_hookspec.add_hook("create_instance")
def create(self, context, flavor, image_href):
    return [Instance(hostname=image_href, uuid=image_href)], "r-" + image_href

@nova_hookspec.add_hook("delete_instance")
def delete(self, context, instance, bdms):
    instance.deleted = True

CTX = RequestContext(project_id="p-1")

def note(line):
    with open(os.environ["RETURNED"], "a") as f:
        f.write(line + "\\n")

def created(name):
    """The hooked create of instance ``name``; noted once the call returned."""
    create(None, CTX, "m1", name)
    note(f"create {name}")

def deleted(name):
    delete(None, CTX, Instance(uuid=name), [])
    note(f"delete {name}")
'''

#: A process that makes the calls it reads on stdin ("create NAME", "delete NAME") and
#: answers each with "ok" and its spool file once the call returned.
DRIVER = '''
import sys
import acme_calls
from nova_hookspec.deferred import enqueue

for line in sys.stdin:
    what, name = line.split()
    getattr(acme_calls, what + "d")(name)
    print("ok", enqueue.writer().path, flush=True)
'''

#: Holds the journal's SQLite write lock and an flock on every file beside it, until
#: its stdin closes.
HOLDER = '''
import fcntl, os, sqlite3, sys
from nova_hookspec.deferred.brokers.journal import Journal

path = sys.argv[1]
Journal(path).close()
db = sqlite3.connect(path, isolation_level=None)
db.execute("BEGIN IMMEDIATE")
held = []
for name in (path, path + ".collect-lock", path + ".relay-lock", path + ".spool"):
    if name.endswith(".spool"):
        os.makedirs(name, mode=0o700, exist_ok=True)
        fd = os.open(name, os.O_RDONLY)
    else:
        fd = os.open(name, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    held.append(fd)
print("HELD", flush=True)
sys.stdin.read()
db.execute("ROLLBACK")
'''

#: Generous: a call blocked on a lock never returns while the lock is held.
PATIENCE = 120


class Host:
    def __init__(self, site: Site, root: Path) -> None:
        self.root = root
        self.ledger = root / "ledger.txt"
        self.returned = root / "returned.txt"
        self.journal = root / "state" / "journal.sqlite"
        self.spool = root / "state" / "journal.sqlite.spool"
        self.log = root / "processes.log"
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(site.root), *sys.path]),
            "LEDGER": str(self.ledger), "RETURNED": str(self.returned),
            "NOVA_HOOKSPEC_JOURNAL": str(self.journal),
        }
        self.processes: list[subprocess.Popen[str]] = []

    def start(self, *args: str, stdin: bool = False) -> subprocess.Popen[str]:
        with open(self.log, "a") as log:
            process = subprocess.Popen(
                [sys.executable, *args], stdout=subprocess.PIPE, stderr=log, text=True,
                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL, env=self.env)
        self.processes.append(process)
        return process

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, *args], capture_output=True, text=True,
                              env=self.env, timeout=600, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
        return done

    def drain(self) -> None:
        self.run("-m", "nova_hookspec", "worker", "--drain")

    def ask(self, process: subprocess.Popen[str], line: str) -> str:
        """Send a driver a call; the spool file it wrote to once the call returned."""
        assert process.stdin is not None
        assert process.stdout is not None
        process.stdin.write(line + "\n")
        process.stdin.flush()
        answer = process.stdout.readline().split()
        assert answer[:1] == ["ok"], f"{line}: {answer}; {self.log.read_text()[-3000:]}"
        return answer[1]

    def lines(self, path: Path | None = None) -> list[list[str]]:
        path = path or self.ledger
        return [x.split() for x in path.read_text().splitlines()] if path.exists() else []

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait()
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    stream.close()


@pytest.fixture
def host(site: Site, tmp_path: Path) -> Iterator[Host]:
    site.add_dist("acme-ledger", {"nova_hookspec": ["ledger = acme_ledger:LEDGER"]},
                  {"acme_ledger": PLUGIN, "acme_calls": CALLS, "acme_driver": DRIVER,
                   "acme_holder": HOLDER})
    made = Host(site, tmp_path)
    yield made
    made.close()


def ran_once_each(host: Host, expected: set[tuple[str, str]]) -> None:
    """Every expected job ran exactly once, none in the call, no other one."""
    runs = Counter((x[0], x[1]) for x in host.lines())
    assert not [x for x in host.lines() if x[2] == "in-call"]
    assert set(runs) == expected, (len(runs), len(expected))
    assert set(runs.values()) == {1}


def test_children_forked_after_a_write_whose_parent_exits_lose_no_job(host: Host) -> None:
    host.run("-c", """
import os, sys, acme_calls
acme_calls.created("parent-0")
for k in range(3):
    if os.fork() == 0:
        for n in range(150):
            acme_calls.created(f"kid{k}-{n}")
        os._exit(0)
sys.exit(0)  # the parent leaves at once, cleaning up as it goes; its children keep writing
""")
    watcher = host.start("-c", """
import os, time
while len(open(os.environ["RETURNED"]).read().splitlines()) < 451:
    time.sleep(0.05)
""")
    assert watcher.wait(timeout=PATIENCE) == 0
    host.drain()
    returned = {(x[0], x[1]) for x in host.lines(host.returned)}
    assert len(returned) == 451
    ran_once_each(host, returned)
    assert [p for p in host.spool.iterdir() if not p.name.startswith(".")] == []  # their writers gone, read to the end: removed


def test_a_call_returns_while_another_process_holds_every_lock(host: Host) -> None:
    holder = host.start("-m", "acme_holder", str(host.journal), stdin=True)
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "HELD"
    caller = host.start("-c", "import acme_calls\n"
                              "for name in ('held-1', 'held-2'):\n"
                              "    acme_calls.created(name)\n"
                              "print('RETURNED', flush=True)")
    try:
        out, _ = caller.communicate(timeout=PATIENCE)
    finally:
        assert holder.poll() is None  # still holding when the calls had returned
    assert caller.returncode == 0
    assert out.split() == ["RETURNED"]
    assert host.lines() == []  # nothing ran in the call
    assert holder.stdin is not None
    holder.stdin.close()
    assert holder.wait(timeout=PATIENCE) == 0
    host.drain()
    ran_once_each(host, {("create", "held-1"), ("create", "held-2")})


def test_an_eventlet_process_keeps_ticking_while_the_journal_is_locked(host: Host) -> None:
    holder = host.start("-m", "acme_holder", str(host.journal), stdin=True)
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "HELD"
    green = host.start("-W", "ignore", "-c", """
import eventlet
eventlet.monkey_patch()
import time, acme_calls

ticks, gaps = [0], []

def ticker():
    last = time.monotonic()
    while True:
        eventlet.sleep(0.001)
        now = time.monotonic()
        gaps.append(now - last)
        last = now
        ticks[0] += 1

acme_calls.created("green-first")  # plugin discovery and the first file: not measured
eventlet.spawn(ticker)
eventlet.sleep(0.01)
between = []
for n in range(100):
    before = ticks[0]
    acme_calls.created(f"green-{n}")
    eventlet.sleep(0.002)
    between.append(ticks[0] - before)
print("TICKS", min(between), "MAXGAP_MS", round(max(gaps) * 1000, 3), flush=True)
""")
    out, _ = green.communicate(timeout=PATIENCE)
    assert holder.poll() is None  # the journal stayed locked the whole time
    assert green.returncode == 0, host.log.read_text()[-3000:]
    [line] = [x.split() for x in out.splitlines() if x.startswith("TICKS")]
    assert int(line[1]) >= 1  # the ticker ran between every two calls
    print(f"eventlet ticker: longest gap {line[3]} ms over 100 deferred calls (FULL)")
    assert host.lines() == []
    assert holder.stdin is not None
    holder.stdin.close()
    holder.wait(timeout=PATIENCE)
    host.drain()
    ran_once_each(host, {("create", f"green-{n}") for n in [*range(100), "first"]})


#: An eventlet process whose disk is slow: each sync of a call blocks its native thread
#: until the process's other green thread (a ticker) has ticked 20 times since.
SLOW_DISK_UNDER_EVENTLET = """
import eventlet
eventlet.monkey_patch()
import os, acme_calls
from eventlet import patcher

native = patcher.original("threading")
real_sync = os.fdatasync
ticks, waiting, syncs = [0], [], []

def slow_sync(fd):
    done = native.Event()  # a native wait: it blocks whichever native thread runs it
    waiting.append((ticks[0], done))
    syncs.append("ticked" if done.wait(5) else "stalled")
    real_sync(fd)

def ticker():
    while True:
        eventlet.sleep(0.001)
        ticks[0] += 1
        for started, done in list(waiting):
            if ticks[0] - started >= 20:
                waiting.remove((started, done))
                done.set()

acme_calls.created("slow-first")  # plugin discovery, the first file: a real sync
eventlet.spawn(ticker)
eventlet.sleep(0.01)
os.fdatasync = slow_sync
for n in range(2):
    acme_calls.created(f"slow-{n}")
os.fdatasync = real_sync
print("SYNCS", *syncs, flush=True)
"""


def test_an_eventlet_process_runs_its_other_green_threads_while_a_call_syncs(
        host: Host) -> None:
    """The call's sync runs in a native thread (eventlet's tpool): while it is blocked
    (a disk that answers only once the ticker ticked 20 times) the hub runs on."""
    green = host.start("-W", "ignore", "-c", SLOW_DISK_UNDER_EVENTLET)
    out, _ = green.communicate(timeout=PATIENCE)
    assert green.returncode == 0, host.log.read_text()[-3000:]
    [line] = [x.split() for x in out.splitlines() if x.startswith("SYNCS")]
    assert line[1:] == ["ticked", "ticked"]  # not "stalled": the ticker ran meanwhile
    assert host.lines() == []
    host.drain()
    ran_once_each(host, {("create", name) for name in ("slow-first", "slow-0", "slow-1")})


#: The same slow disk in a process that runs a command as nova-compute does
#: (oslo.concurrency's processutils: a subprocess with a ``preexec_fn``, which runs
#: os.register_at_fork's hooks) between its first call and the slow ones.
SLOW_DISK_AFTER_A_COMMAND = SLOW_DISK_UNDER_EVENTLET.replace(
    "eventlet.spawn(ticker)",
    "import subprocess\n"
    "subprocess.run(['true'], preexec_fn=lambda: None, check=True)\n"
    "eventlet.spawn(ticker)")


def test_an_eventlet_process_that_runs_a_command_still_syncs_in_tpool(host: Host) -> None:
    """A command run (fork, then exec) is not a fork of the process: its calls' syncs
    stay in eventlet's tpool, and its other green threads run meanwhile."""
    assert "preexec_fn" in SLOW_DISK_AFTER_A_COMMAND
    green = host.start("-W", "ignore", "-c", SLOW_DISK_AFTER_A_COMMAND)
    out, _ = green.communicate(timeout=PATIENCE)
    assert green.returncode == 0, host.log.read_text()[-3000:]
    [line] = [x.split() for x in out.splitlines() if x.startswith("SYNCS")]
    assert line[1:] == ["ticked", "ticked"]  # not "stalled": the hub ran meanwhile
    host.drain()
    ran_once_each(host, {("create", name) for name in ("slow-first", "slow-0", "slow-1")})


#: An eventlet process (as a uwsgi or oslo.service parent) that forks after its first
#: deferred calls: the child's green threads make calls of their own and return.
#: The child's watchdog only ends a hung child (it never passes a test): it dumps
#: the stacks to the log and exits 1.
FORK_UNDER_EVENTLET = """
import eventlet
eventlet.monkey_patch()
import faulthandler, os, sys, acme_calls

PATIENCE = PATIENCE_S
pool = eventlet.GreenPool(4)
for n in range(8):
    pool.spawn(acme_calls.created, f"parent-{n}")  # the parent's syncs start tpool
pool.waitall()
pid = os.fork()
if pid == 0:
    faulthandler.dump_traceback_later(PATIENCE, exit=True)
    pool = eventlet.GreenPool(4)
    for n in range(8):
        pool.spawn(acme_calls.created, f"child-{n}")
    pool.waitall()
    acme_calls.deleted("child-0")
    os._exit(0)
acme_calls.created("parent-after-fork")
_, status = os.waitpid(pid, 0)
sys.exit(1 if status else 0)
""".replace("PATIENCE_S", str(PATIENCE))


def test_an_eventlet_process_forked_after_its_first_calls_runs_the_childs_calls(
        host: Host) -> None:
    """eventlet's tpool threads do not survive a fork: the child's calls (whose sync
    went to them) waited for ever. And the child's copy of the parent's hub took, once
    in ten forks, the wake-up byte of the parent's tpool call after the fork: the
    parent waited for ever. Each returns, and every job runs once."""
    green = host.start("-W", "ignore", "-c", FORK_UNDER_EVENTLET)
    try:
        green.communicate(timeout=PATIENCE * 2)
    except subprocess.TimeoutExpired:
        green.kill()
        raise AssertionError(f"a call never returned: {host.log.read_text()[-3000:]}") from None
    assert green.returncode == 0, host.log.read_text()[-3000:]
    returned = {(x[0], x[1]) for x in host.lines(host.returned)}
    assert returned == {("create", f"parent-{n}") for n in range(8)} | {
        ("create", f"child-{n}") for n in range(8)} | {
        ("create", "parent-after-fork"), ("delete", "child-0")}
    assert host.lines() == []  # nothing ran in the call
    host.drain()
    ran_once_each(host, returned)
    assert [p for p in host.spool.iterdir() if not p.name.startswith(".")] == []  # both writers gone, read to the end


EIGHT_WRITERS = """
import multiprocessing, os, sys, acme_calls

WRITERS, BATCHES, SIZE = 8, 25, 5
barrier = multiprocessing.get_context("fork").Barrier(WRITERS)

def writer(p):
    neighbour = (p + 1) % WRITERS
    for b in range(BATCHES):
        for n in range(SIZE):
            acme_calls.created(f"i{p}-{b}-{n}")
        barrier.wait()  # every create of this batch returned: delete the neighbour's
        for n in range(SIZE):
            acme_calls.deleted(f"i{neighbour}-{b}-{n}")
    acme_calls.note(f"sqlite3-loaded {'sqlite3' in sys.modules}")
    os._exit(0)

children = []
for p in range(WRITERS):
    pid = os.fork()
    if pid == 0:
        writer(p)
    children.append(pid)
sys.exit(max(os.waitpid(pid, 0)[1] for pid in children))
"""


def test_eight_writers_and_a_draining_worker_keep_every_job_and_the_order(host: Host) -> None:
    worker = host.start("-m", "nova_hookspec", "worker", "--lanes", "4")
    host.run("-c", EIGHT_WRITERS)
    returned = {(x[0], x[1]) for x in host.lines(host.returned) if x[0] != "sqlite3-loaded"}
    assert len(returned) == 2000
    # the calls never open the journal: none can wait on another writer's lock
    assert [x for x in host.lines(host.returned) if x[0] == "sqlite3-loaded"] == [
        ["sqlite3-loaded", "False"]] * 8
    waiter = host.start("-c", """
import os, time

def runs():
    path = os.environ["LEDGER"]
    return len(open(path).read().splitlines()) if os.path.exists(path) else 0

while runs() < 2000:
    time.sleep(0.05)
""")
    assert waiter.wait(timeout=600) == 0
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=PATIENCE) == 0
    ran_once_each(host, returned)
    position = {(x[0], x[1]): n for n, x in enumerate(host.lines())}
    for kind, name in returned:
        if kind == "create":
            assert position[("create", name)] < position[("delete", name)], name


def test_eight_processes_first_calls_at_once_on_a_new_spool_none_runs_inline(
        host: Host) -> None:
    host.run("-c", """
import multiprocessing, os, sys, threading, acme_calls

barrier = multiprocessing.get_context("fork").Barrier(8 * 8)

def calls(p, t):
    barrier.wait()  # every first call at once, on a journal and spool not made yet
    for n in range(15):
        acme_calls.created(f"i{p}-{t}-{n}")

children = []
for p in range(8):
    pid = os.fork()
    if pid == 0:
        threads = [threading.Thread(target=calls, args=(p, t)) for t in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        acme_calls.note(f"sqlite3-loaded {'sqlite3' in sys.modules}")
        os._exit(0)
    children.append(pid)
sys.exit(max(os.waitpid(pid, 0)[1] for pid in children))
""")
    assert host.lines() == []  # not one ran in the call
    assert [x for x in host.lines(host.returned) if x[0] == "sqlite3-loaded"] == [
        ["sqlite3-loaded", "False"]] * 8  # no journal opened: no race on creating it
    host.drain()
    ran_once_each(host, {("create", f"i{p}-{t}-{n}")
                         for p in range(8) for t in range(8) for n in range(15)})


def test_worker_side_processes_opening_a_new_journal_at_once_all_start(host: Host) -> None:
    """Two workers and a ``deferred status`` started together on a host whose journal
    does not exist yet: SQLite answers "database is locked" without waiting to the
    switch to WAL and the schema's creation; each process opens it all the same."""
    host.run("-c", """
import multiprocessing, os, sys
from nova_hookspec.deferred.brokers.journal import Journal

ctx = multiprocessing.get_context("fork")
failed = 0
for round in range(25):
    path = os.path.join(os.environ["LEDGER"] + f".{round}", "journal.sqlite")
    os.makedirs(os.path.dirname(path))
    barrier = ctx.Barrier(8)
    def opener():
        barrier.wait()
        journal = Journal(path)  # kept: a collected journal closes its connections
        db = journal._db()
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        db.execute("SELECT count(*) FROM jobs").fetchone()
    children = [ctx.Process(target=opener) for _ in range(8)]
    for child in children:
        child.start()
    for child in children:
        child.join()
    failed += sum(child.exitcode != 0 for child in children)
print("failed", failed)
sys.exit(1 if failed else 0)
""")


def test_a_spool_file_removed_or_replaced_underneath_loses_no_later_job(host: Host) -> None:
    driver = host.start("-m", "acme_driver", stdin=True)
    first = host.ask(driver, "create lost-with-its-file")
    os.unlink(first)  # removed underneath (an operator's cleanup)
    second = host.ask(driver, "create after-removal")
    assert second != first
    host.drain()  # collects and runs it (a replaced file's jobs are gone with it)
    replacement = host.root / "replacement"
    replacement.write_bytes(b"")
    os.replace(replacement, second)  # another file in its place
    third = host.ask(driver, "create after-replacement")
    assert third not in (first, second)
    fourth = host.ask(driver, "create later")
    assert fourth == third  # the new file is kept from then on
    log = host.log.read_text()
    assert f"spool file {first} was removed or replaced" in log
    assert f"spool file {second} was removed or replaced" in log
    host.drain()
    ran_once_each(host, {("create", "after-removal"), ("create", "after-replacement"),
                         ("create", "later")})


def test_a_delete_imported_before_its_create_never_runs_first(host: Host) -> None:
    from nova_hookspec.deferred.brokers.journal import Journal
    from nova_hookspec.deferred.collector import Collector

    one = host.start("-m", "acme_driver", stdin=True)
    two = host.start("-m", "acme_driver", stdin=True)
    files = {host.ask(one, "create warm-one"): one, host.ask(two, "create warm-two"): two}
    early, late = (files[path] for path in sorted(files))  # the order a pass reads them
    journal = Journal(str(host.journal))
    read: list[str] = []

    class Interleaved(Collector):
        def _file(self, name: str, offset: int) -> int:
            found = super()._file(name, offset)
            read.append(name)
            if len(read) == 1:  # the early file read: now its create, then the delete
                host.ask(early, "create x")
                host.ask(late, "delete x")
            return found

    try:
        assert Interleaved(journal).collect() == 3  # two warm-ups and the delete
        assert [(j["hook"], j["id"] is None) for j in journal.jobs()] == [
            ("create_instance_post", False), ("create_instance_post", False),
            ("delete_instance_post", False), ("create_instance_post", True)]
        claimed: list[Any] = []
        while (job := journal.claim("hand", 30.0)) is not None:
            claimed.append(job.hook)
            journal.done(job)
        assert claimed == ["create_instance_post", "create_instance_post"]  # not the delete
    finally:
        journal.close()
    host.drain()
    assert [x[:2] for x in host.lines()] == [["create", "x"], ["delete", "x"]]


def test_status_and_list_count_the_spooled_jobs_and_create_nothing(host: Host) -> None:
    import json

    def status() -> dict[str, Any]:
        found: dict[str, Any] = json.loads(
            host.run("-m", "nova_hookspec", "deferred", "status", "--json").stdout)
        return found

    before = status()
    assert not (host.root / "state").exists()  # looking created nothing
    assert (before["pending"], before["spooled"], before["spool"]) == (0, 0, str(host.spool))
    host.run("-c", "import acme_calls\nacme_calls.created('a')\nacme_calls.created('b')")
    found = status()
    assert (found["pending"], found["spooled"], found["running"]) == (2, 2, 0)
    assert found["oldest_pending_age"] is not None
    listed = json.loads(host.run("-m", "nova_hookspec", "deferred", "list", "--json").stdout)
    assert [(j["id"], j["state"], j["hook"]) for j in listed["jobs"]] == [
        (None, "pending", "create_instance_post")] * 2
    human = host.run("-m", "nova_hookspec", "deferred", "status").stdout
    assert f"spool {host.spool}: 2 of the pending jobs not collected yet" in human
    assert not host.journal.exists()  # still only the spool files
    host.drain()
    after = status()
    assert (after["pending"], after["spooled"]) == (0, 0)
    ran_once_each(host, {("create", "a"), ("create", "b")})


def test_a_damaged_record_and_a_torn_last_one_are_skipped_and_the_rest_read(
        host: Host) -> None:
    driver = host.start("-m", "acme_driver", stdin=True)
    path = host.ask(driver, "create before")
    with open(path, "ab") as f:  # half a record, then the writer appends after it
        f.write(b'NHJ1 120 0badf00d {"plugin": "acme-ledger", "ho')
    assert host.ask(driver, "create after") == path
    assert driver.stdin is not None
    driver.stdin.close()
    assert driver.wait(timeout=PATIENCE) == 0
    torn = b"NHJ1 300 12345678 {"
    with open(path, "ab") as f:  # a crash in the middle of the last write
        f.write(torn)
    worker = host.run("-m", "nova_hookspec", "worker", "--drain")
    ran_once_each(host, {("create", "before"), ("create", "after")})
    assert f"spool file {path}: 1 damaged record(s) skipped" in worker.stderr
    assert (f"spool file {path}: a torn last record ({len(torn)} bytes, its writer ended "
            "mid-write) skipped") in worker.stderr
    assert [p for p in host.spool.iterdir() if not p.name.startswith(".")] == []  # its writer gone, read to its end: removed


def test_a_batch_claim_keeps_the_order_rules(tmp_path: Path) -> None:
    """The worker claims up to ``batch`` jobs in one transaction: never two jobs of one
    instance at once, never a later job of an instance while an earlier one is pending
    or running, the others all at once."""
    from nova_hookspec.deferred.brokers.journal import Journal

    journal = Journal(str(tmp_path / "journal.sqlite"))
    try:
        for n, instance in enumerate(["a", "a", "b", "c", "b", "d"]):
            journal.enqueue("p", "create_instance_post", [instance], f"{instance}{n}")
        first = journal.claim_many("w:1", 30.0, 10)
        assert [job.payload for job in first] == ["a0", "b2", "c3", "d5"]
        assert journal.claim_many("w:1", 30.0, 10) == []  # a1 and b4 wait for a0, b2
        assert journal.record_many([(first[0], "done", 0.0, ""), (first[1], "retry", 0.0,
                                                                   "again")]) == [True, True]
        second = journal.claim_many("w:1", 30.0, 10)
        assert [job.payload for job in second] == ["a1", "b2"]  # b2 again before b4
        assert [job.payload for job in journal.claim_many("w:1", 30.0, 1)] == []
    finally:
        journal.close()


def test_a_writer_that_lives_on_moves_to_a_new_file_and_its_done_files_go(
        host: Host) -> None:
    """A process that lives for months (nova-api, nova-compute) grew one spool file for
    ever: the collector removes a file only once its writer let go of it. Past its size
    a writer starts a new file; the old ones go once their jobs are done."""
    small = "from nova_hookspec.deferred import spool\nspool.ROTATE_BYTES = 1\n" + DRIVER
    driver = host.start("-c", small, stdin=True)
    for n in range(4):
        host.ask(driver, f"create vm-{n}")
    assert len([p for p in host.spool.iterdir() if not p.name.startswith(".")]) == 4
    host.drain()
    assert driver.poll() is None  # the writer lives on
    assert [p for p in host.spool.iterdir() if not p.name.startswith(".")] == []
    host.ask(driver, "create vm-4")
    host.drain()
    # The ledger: each job ran once, in the order of its call.
    assert [line[1] for line in host.lines()] == [f"vm-{n}" for n in range(5)]
    ran_once_each(host, {("create", f"vm-{n}") for n in range(5)})

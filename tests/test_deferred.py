"""Deferred post hooks through real processes: calls in one, the worker in another.

The plugin is a real distribution on ``sys.path``; the worker is started as
``python -m nova_hookspec worker``; kills are real signals. Every test ends
with a ledger check: the plugin appends one line per run it finished.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sitehelper import Site

PLUGIN = '''
import os, time
from pathlib import Path
import nova_hookspec

def _ledger(line):
    with open(os.environ["LEDGER"], "a") as f:
        f.write(line + "\\n")

def _gate(name):
    return Path(os.environ["GATES"], name)

if os.environ.get("SLOW_IMPORT"):  # a plugin that takes its time to load
    _ledger("importing")
    while not _gate("imported").exists():
        time.sleep(0.02)

class Ledger:
    @nova_hookspec.hookimpl(deferred=True)
    def create_instance_post(self, context, result, admin_password, delivery):
        # delivery is None when the job could not be written and the call runs it
        job, attempt = (delivery.job_id, delivery.attempt) if delivery else ("in-call", 0)
        for inst in result[0]:
            _ledger(f"start create {inst.uuid} {job} {attempt}")
            if _gate(f"exit-{inst.uuid}").exists():
                os._exit(1)  # as a segfault or the OOM killer: the worker ends mid-run
        while _gate("block").exists():
            time.sleep(0.02)
        if _gate("down").exists():
            _ledger("down")
            raise ConnectionError("inventory unreachable")
        if _gate("fatal").exists():
            raise nova_hookspec.FatalHookException("refused for good")
        if getattr(context, "auth_token", None) is not None or admin_password is not None:
            _ledger("SECRET LEAKED")
        for inst in result[0]:
            if os.environ.get("FLAKY") and hash((inst.uuid, attempt)) % 5 == 0:
                raise ConnectionError("flaky")
            _ledger(f"done create {inst.uuid} {job} {attempt} "
                    f"{type(inst).__name__} {context.project_id}")

    @nova_hookspec.hookimpl(deferred=True)
    def delete_instance_post(self, instance, delivery):
        if os.environ.get("FLAKY") and hash((instance.uuid, delivery.attempt)) % 5 == 0:
            raise ConnectionError("flaky")
        _ledger(f"done delete {instance.uuid} {delivery.job_id} {delivery.attempt}")

LEDGER = Ledger()
'''

CALLS = '''
import os, sys
import nova_hookspec
from nova_hookspec._nova.standins import Instance, RequestContext

@nova_hookspec.add_hook("create_instance")
def create(self, context, flavor, image_href, admin_password=None):
    return [Instance(hostname=image_href)], "r-1"

@nova_hookspec.add_hook("delete_instance")
def delete(self, context, instance, bdms):
    instance.deleted = True

ctx = RequestContext(project_id="p-1")
ctx.auth_token = "TOKEN-" + "s3cr3t"
count = int(sys.argv[1]) if len(sys.argv) > 1 else 1
made = []
for n in range(count):
    instances, _ = create(None, ctx, "m1", f"server-{n}", admin_password="PASS-" + "w0rd")
    made.extend(instances)
for inst in made if os.environ.get("DELETE") else ():
    delete(None, ctx, inst, [])
print("RETURNED", " ".join(i.uuid for i in made), flush=True)
if os.environ.get("LINGER"):
    import time
    time.sleep(60)
'''


class Host:
    """One host: its journal, the plugin, and processes started with its environment."""

    def __init__(self, site: Site, root: Path) -> None:
        self.site = site
        self.ledger = root / "ledger.txt"
        self.gates = root / "gates"
        self.gates.mkdir()
        self.journal = root / "state" / "journal.sqlite"
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(site.root), *sys.path]),
            "LEDGER": str(self.ledger), "GATES": str(self.gates),
            "NOVA_HOOKSPEC_JOURNAL": str(self.journal),
            "NOVA_HOOKSPEC_RETRY_MIN_BACKOFF": "0.05",
            "NOVA_HOOKSPEC_RETRY_MAX_BACKOFF": "0.2",
            "NOVA_HOOKSPEC_LEASE": "3",
        }
        self.processes: list[subprocess.Popen[str]] = []
        #: Put before each process's command line (``nsenter ...``: a full disk's namespace).
        self.prefix: list[str] = []

    def run(self, *args: str, env: dict[str, str] | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.prefix, sys.executable, *args], capture_output=True, text=True,
                              env={**self.env, **(env or {})}, timeout=timeout, check=False)

    def start(self, *args: str, env: dict[str, str] | None = None,
              read: bool = False) -> subprocess.Popen[str]:
        """A process of this host; its stderr goes to ``processes.log``."""
        with open(self.ledger.parent / "processes.log", "a") as log:
            process = subprocess.Popen(
                [*self.prefix, sys.executable, *args], stdout=subprocess.PIPE if read else log,
                stderr=log, text=True, env={**self.env, **(env or {})})
        self.processes.append(process)
        return process

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait()
            if process.stdout is not None:
                process.stdout.close()

    def calls(self, count: int = 1, **env: str) -> list[str]:
        done = self.run("-c", "import acme_calls", str(count), env=env)
        assert done.returncode == 0, done.stderr
        [line] = [x for x in done.stdout.splitlines() if x.startswith("RETURNED")]
        return line.split()[1:]

    def drain(self, *extra: str) -> subprocess.CompletedProcess[str]:
        done = self.run("-m", "nova_hookspec", "worker", "--drain", *extra)
        assert done.returncode == 0, done.stderr
        return done

    def status(self) -> dict[str, object]:
        done = self.run("-m", "nova_hookspec", "deferred", "status", "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)  # type: ignore[no-any-return]

    def lines(self) -> list[list[str]]:
        if not self.ledger.exists():
            return []
        return [line.split() for line in self.ledger.read_text().splitlines()]

    def wait_for(self, predicate: object, what: str, seconds: float = 120) -> None:
        deadline = time.monotonic() + seconds
        while not predicate():  # type: ignore[operator]
            ended = [p.args for p in self.processes if p.poll() is not None and p.returncode]
            if time.monotonic() > deadline or ended:
                log = self.ledger.parent / "processes.log"
                raise AssertionError(
                    f"never happened: {what}; ledger {self.lines()}; failed {ended}; "
                    f"log {log.read_text()[-3000:] if log.exists() else ''}")
            time.sleep(0.05)


@pytest.fixture
def host(site: Site, tmp_path: Path) -> Iterator[Host]:
    site.add_dist("acme-ledger", {"nova_hookspec": ["ledger = acme_ledger:LEDGER"]},
                  {"acme_ledger": PLUGIN, "acme_calls": CALLS})
    made = Host(site, tmp_path)
    yield made
    made.close()


def done_creates(host: Host) -> list[list[str]]:
    return [line for line in host.lines() if line[:2] == ["done", "create"]]


def test_the_call_writes_a_job_and_the_worker_runs_it_with_the_arguments(host: Host) -> None:
    [uuid] = host.calls()
    assert host.lines() == []  # nothing ran in the call
    assert host.status()["pending"] == 1
    host.drain()
    [line] = done_creates(host)
    assert line[2] == uuid
    assert line[4] == "1"
    assert line[5:] == ["Instance", "p-1"]  # rebuilt stand-ins, the context's project
    assert ["SECRET", "LEAKED"] not in host.lines()
    status = host.status()
    assert (status["pending"], status["running"], status["dead"]) == (0, 0, 0)


def test_the_journal_holds_no_secret_and_is_private(host: Host) -> None:
    def private_bytes() -> bytes:
        files = [p for p in host.journal.parent.rglob("*") if p.is_file()]
        for path in files:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
        return b"".join(path.read_bytes() for path in files)

    uuids = host.calls(3)
    spool = host.journal.parent / "journal.sqlite.spool"
    assert stat.S_IMODE(spool.stat().st_mode) == 0o700
    spooled = private_bytes()
    assert all(uuid.encode() in spooled for uuid in uuids)  # the jobs are in these bytes
    (host.gates / "fatal").touch()
    host.drain()  # collected into the journal, dead there: their arguments kept
    assert host.status()["dead"] == 3
    journal = private_bytes()
    assert all(uuid.encode() in journal for uuid in uuids)
    for everything in (spooled, journal):
        assert b"s3cr3t" not in everything
        assert b"w0rd" not in everything


def test_a_worker_killed_mid_job_leaves_it_to_the_next_worker(host: Host) -> None:
    (host.gates / "block").touch()
    [uuid] = host.calls()
    worker = host.start("-m", "nova_hookspec", "worker")
    host.wait_for(lambda: any(line[:2] == ["start", "create"] for line in host.lines()),
                  "the plugin started")
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    (host.gates / "block").unlink()
    assert done_creates(host) == []
    host.drain()  # gives back the dead worker's job at start, then runs it
    [line] = done_creates(host)
    assert line[2] == uuid
    assert line[4] == "2"


def test_a_job_that_ends_each_worker_goes_dead_after_max_attempts_runs(host: Host) -> None:
    uuids = host.calls(6)
    poison = uuids[0]  # first in order: each worker claims it first
    (host.gates / f"exit-{poison}").touch()
    exits = []
    for _ in range(20):  # restarted as systemd's Restart=always would, until drained
        done = host.run("-m", "nova_hookspec", "worker", "--drain",
                        env={"NOVA_HOOKSPEC_MAX_ATTEMPTS": "3"})
        exits.append(done.returncode)
        if done.returncode == 0:
            break
    assert exits == [1, 1, 1, 0], exits  # three runs ended the worker, the fourth drained
    starts = [line for line in host.lines() if line[:3] == ["start", "create", poison]]
    assert [line[4] for line in starts] == ["1", "2", "3"]  # exactly max_attempts runs
    assert not [line for line in done_creates(host) if line[2] == poison]
    assert sorted(line[2] for line in done_creates(host)) == sorted(uuids[1:])  # once each
    # claimed in the first worker's batch, never started there: their first run is attempt 1
    assert {line[4] for line in done_creates(host)} == {"1"}
    status = host.status()
    assert (status["pending"], status["running"], status["dead"]) == (0, 0, 1)
    counted = {c["what"]: c["count"] for c in status["counters"]}  # type: ignore[attr-defined]
    assert (counted.get("dead"), counted.get("done")) == (1, 5)  # the metrics' counts
    dead = host.run("-m", "nova_hookspec", "deferred", "list", "--dead")
    assert "the worker ended during each of its 3 runs" in dead.stdout, dead.stdout
    assert "attempts 3 " in dead.stdout, dead.stdout  # its runs, no claim without a run


def test_a_caller_killed_right_after_the_call_returned_loses_nothing(host: Host) -> None:
    caller = host.start("-c", "import acme_calls", env={"LINGER": "1"}, read=True)
    assert caller.stdout is not None
    returned = caller.stdout.readline().split()
    assert returned[0] == "RETURNED"
    caller.send_signal(signal.SIGKILL)
    caller.wait()
    host.drain()
    assert [line[2] for line in done_creates(host)] == returned[1:]


def test_an_outage_is_retried_until_the_system_is_back(host: Host) -> None:
    (host.gates / "down").touch()
    [uuid] = host.calls()
    worker = host.start("-m", "nova_hookspec", "worker")
    try:
        host.wait_for(lambda: host.lines().count(["down"]) >= 3, "three failed runs")
        (host.gates / "down").unlink()
        host.wait_for(lambda: done_creates(host), "the job done")
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0
    [line] = done_creates(host)
    assert line[2] == uuid
    assert int(line[4]) >= 4
    assert host.status()["dead"] == 0


def test_a_job_that_always_fails_ends_in_dead_letters_and_can_be_retried(host: Host) -> None:
    (host.gates / "down").touch()
    host.calls()
    env = {"NOVA_HOOKSPEC_MAX_ATTEMPTS": "3"}
    for _ in range(20):
        host.run("-m", "nova_hookspec", "worker", "--drain", env=env)
        if host.status()["dead"] == 1:
            break
        time.sleep(0.1)
    listed = host.run("-m", "nova_hookspec", "deferred", "list", "--dead", "--json")
    [job] = json.loads(listed.stdout)["jobs"]
    assert [h["attempt"] for h in job["history"]] == [1, 2, 3]
    assert "inventory unreachable" in job["history"][-1]["error"]
    assert "s3cr3t" not in listed.stdout
    assert "w0rd" not in listed.stdout
    human = host.run("-m", "nova_hookspec", "deferred", "list", "--dead")
    assert f"{job['id']}" in human.stdout
    assert "ConnectionError" in human.stdout
    (host.gates / "down").unlink()
    retried = host.run("-m", "nova_hookspec", "deferred", "retry", "--dead")
    assert retried.returncode == 0, retried.stderr
    host.drain()
    assert len(done_creates(host)) == 1
    assert host.status()["dead"] == 0


def test_retry_refuses_a_dead_create_whose_instances_delete_finished(host: Host) -> None:
    """A hostile review: ``deferred retry`` of a dead create whose instance's delete had
    finished said "1 dead job(s) pending again", and the create then ran after the
    delete (the plugin's system held a deleted instance again). It is refused, in one
    line; a dead create of an instance not deleted is retried alongside."""
    (host.gates / "fatal").touch()
    [gone] = host.calls(1, DELETE="1")  # job vm:1, dead; its delete vm:2 done
    [kept] = host.calls(1)  # job vm:3, dead; no delete
    host.drain()
    assert host.status()["dead"] == 2
    (host.gates / "fatal").unlink()
    job = f"{socket.gethostname()}:1"  # the journal names its host as Nova would
    said = (f"nova-hookspec deferred retry: job {job} (acme-ledger:acme_ledger:LEDGER, "
            f"create_instance_post) not retried: the delete of its instance(s) {gone} "
            f"finished since, and the create would run after it; 'nova-hookspec deferred "
            f"drop {job}' forgets it")
    refused = host.run("-m", "nova_hookspec", "deferred", "retry", job)
    assert (refused.returncode, refused.stdout.strip()) == (1, "1 dead create(s) not retried")
    assert refused.stderr.strip() == said
    as_json = host.run("-m", "nova_hookspec", "deferred", "retry", job, "--json")
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout)["refused"] == [job]
    every = host.run("-m", "nova_hookspec", "deferred", "retry", "--dead")
    assert (every.returncode, every.stdout.strip()) == (0, "1 dead job(s) pending again")
    assert every.stderr.strip() == said
    host.drain()
    # The ledger: the deleted instance's create never ran again; the other's did, once.
    assert [line[:3] for line in host.lines() if line[0] == "done"] == [
        ["done", "delete", gone], ["done", "create", kept]]
    dead = json.loads(host.run("-m", "nova_hookspec", "deferred", "list", "--dead",
                               "--json").stdout)["jobs"]
    assert [j["id"] for j in dead] == [1]


def test_a_journal_made_anew_never_gives_a_job_an_id_a_plugin_saw(host: Host) -> None:
    """A hostile review: an operator deleted the journal while no process ran; the
    journal made anew numbered its jobs from 1 again, and a new job got the
    ``delivery.job_id`` of one the plugin had seen (its idempotency key)."""
    host.calls(2)
    host.drain()
    seen = [line[3] for line in done_creates(host)]
    assert len(seen) == 2
    for name in ("journal.sqlite", "journal.sqlite-wal", "journal.sqlite-shm"):
        with contextlib.suppress(FileNotFoundError):
            (host.journal.parent / name).unlink()
    host.calls(2)
    host.drain()
    # The ledger: four creates, each run once, under four ids.
    ids = [line[3] for line in done_creates(host)]
    assert len(ids) == 4
    assert len(set(ids)) == 4, ids
    assert ids[:2] == seen
    later = [int(job_id.rsplit(":", 1)[1]) for job_id in ids[2:]]
    assert min(later) > max(int(job_id.rsplit(":", 1)[1]) for job_id in seen)
    assert host.status()["dead"] == 0


def test_a_fatal_hook_exception_dead_letters_at_once_and_drop_forgets_it(host: Host) -> None:
    (host.gates / "fatal").touch()
    host.calls()
    host.drain()
    listed = json.loads(host.run("-m", "nova_hookspec", "deferred", "list", "--dead",
                                 "--json").stdout)
    [job] = listed["jobs"]
    assert job["attempts"] == 1
    dropped = host.run("-m", "nova_hookspec", "deferred", "drop", str(job["id"]))
    assert dropped.returncode == 0
    assert host.status()["dead"] == 0
    again = host.run("-m", "nova_hookspec", "deferred", "drop", str(job["id"]))
    assert again.returncode == 1


def test_sigterm_with_a_job_in_flight_loses_nothing(host: Host) -> None:
    (host.gates / "block").touch()
    [uuid] = host.calls()
    worker = host.start("-m", "nova_hookspec", "worker", "--grace", "0.5")
    host.wait_for(lambda: any(line[:2] == ["start", "create"] for line in host.lines()),
                  "the plugin started")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=60) == 0
    (host.gates / "block").unlink()
    assert host.status()["pending"] == 1  # given back, not lost
    host.drain()
    assert [line[2] for line in done_creates(host)] == [uuid]


def test_the_stopped_line_counts_the_started_jobs_apart_from_the_claimed_ones(
        host: Host) -> None:
    (host.gates / "block").touch()
    uuids = host.calls(3)  # one lane: the three claimed at once, the first started
    worker = host.start("-m", "nova_hookspec", "worker", "--grace", "0.5")
    host.wait_for(lambda: any(line[:2] == ["start", "create"] for line in host.lines()),
                  "the plugin started")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=60) == 0
    log = (host.ledger.parent / "processes.log").read_text()
    assert ("stopped: 1 job(s) not finished within the grace period and 2 claimed, not "
            "started, given back") in log, log
    (host.gates / "block").unlink()
    host.drain()
    assert sorted(line[2] for line in done_creates(host)) == sorted(uuids)


def test_sigterm_while_the_plugins_load_is_a_clean_stop(host: Host) -> None:
    [uuid] = host.calls()
    worker = host.start("-m", "nova_hookspec", "worker", env={"SLOW_IMPORT": "1"})
    host.wait_for(lambda: ["importing"] in host.lines(), "the plugin loading")
    worker.send_signal(signal.SIGTERM)
    (host.gates / "imported").touch()
    assert worker.wait(timeout=60) == 0  # not 143: stopped, and said so
    log = (host.ledger.parent / "processes.log").read_text()
    assert "stopped before it started" in log, log
    assert not [line for line in host.lines() if line[0] == "start"]  # no job taken
    host.drain()
    assert [line[2] for line in done_creates(host)] == [uuid]


def test_two_hundred_instances_four_lanes_flaky_plugin_create_before_delete(host: Host) -> None:
    uuids = host.calls(200, DELETE="1")
    env = {"FLAKY": "1", "NOVA_HOOKSPEC_MAX_ATTEMPTS": "50"}
    workers = [host.start("-m", "nova_hookspec", "worker", "--lanes", "4", env=env)
               for _ in range(2)]
    try:
        host.wait_for(lambda: len([x for x in host.lines() if x[0] == "done"]) >= 400,
                      "every job done", seconds=600)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=60) == 0
    done = [x for x in host.lines() if x[0] == "done"]
    position = {(x[1], x[2]): n for n, x in enumerate(done)}
    assert len(position) == len(done) == 400  # each job done once: no kill, no duplicate
    for uuid in uuids:
        assert position[("create", uuid)] < position[("delete", uuid)], uuid
    assert host.status()["dead"] == 0


def test_deferring_a_pre_observer_or_the_hooked_object_is_refused() -> None:
    import nova_hookspec
    from nova_hookspec import NovaPluginManager, PluginValidationError

    class Pre:
        @nova_hookspec.hookimpl(deferred=True)
        def delete_instance_pre(self, instance: object) -> None:
            pass

    class Manager:
        @nova_hookspec.hookimpl(deferred=True)
        def delete_instance_post(self, compute_manager: object) -> None:
            pass

    pm = NovaPluginManager()
    with pytest.raises(PluginValidationError, match="only post observers can be deferred"):
        pm.register(Pre(), "pre-plugin")
    with pytest.raises(PluginValidationError, match="cannot ask for 'compute_manager'"):
        pm.register(Manager(), "manager-plugin")


def test_an_unwritable_spool_runs_the_plugin_in_the_call_with_an_error(host: Host) -> None:
    host.journal.parent.mkdir(parents=True)
    (host.journal.parent / "journal.sqlite.spool").touch()  # a file where its folder goes
    done = host.run("-c", "import acme_calls")
    assert done.returncode == 0, done.stderr
    assert "the deferred job could not be written" in done.stderr
    assert len(done_creates(host)) == 1


def test_a_legacy_post_deferred_by_the_operator_runs_in_the_worker(site: Site,
                                                                  tmp_path: Path) -> None:
    site.add_dist("acme-old", {"nova.hooks": ["delete_instance = acme_old:Hook"]}, {
        "acme_old": '''
import os
class Hook:
    def post(self, rv, manager, context, instance, bdms):
        with open(os.environ["LEDGER"], "a") as f:
            f.write(f"legacy {manager} {instance.uuid} {os.getpid()}\\n")
''', "acme_calls": CALLS})
    host = Host(site, tmp_path)
    host.env["NOVA_HOOKSPEC_DEFERRED"] = "acme-old"
    host.calls(2, DELETE="1")
    assert host.lines() == []
    host.drain()
    host.close()
    lines = host.lines()
    assert len(lines) == 2
    assert all(line[1] == "None" for line in lines)


def test_check_reports_the_deferred_plugins_and_the_journals_health(host: Host) -> None:
    import jsonschema

    import nova_hookspec

    schemas = Path(nova_hookspec.__file__).resolve().parent / "schemas"
    checked = host.run("-m", "nova_hookspec", "check", "--json")
    document = json.loads(checked.stdout)
    jsonschema.validate(document, json.loads((schemas / "check.schema.json").read_text()))
    assert checked.returncode == 0, checked.stdout
    assert [(p["hook"], p["legacy"]) for p in document["deferred"]["plugins"]] == [
        ("create_instance_post", False), ("delete_instance_post", False)]
    assert document["deferred"]["healthy"] is True
    assert document["deferred"]["pending"] is None  # not created by looking
    assert not host.journal.exists()
    host.calls(2)
    status = host.run("-m", "nova_hookspec", "deferred", "status", "--json")
    jsonschema.validate(json.loads(status.stdout),
                        json.loads((schemas / "deferred-status.schema.json").read_text()))
    listed = host.run("-m", "nova_hookspec", "deferred", "list", "--json")
    jsonschema.validate(json.loads(listed.stdout),
                        json.loads((schemas / "deferred-list.schema.json").read_text()))
    assert len(json.loads(listed.stdout)["jobs"]) == 2
    assert json.loads(host.run("-m", "nova_hookspec", "check", "--json").stdout)[
        "deferred"]["pending"] == 2
    assert not host.journal.exists()  # looking made no journal: the jobs are spooled
    host.journal.mkdir()
    broken = host.run("-m", "nova_hookspec", "check")
    assert broken.returncode == 1
    assert "cannot be used (it is a directory)" in broken.stdout
    assert "UNUSABLE" in broken.stdout


def test_the_service_summary_line_names_the_deferred_plugins(host: Host) -> None:
    shown = host.run("-c", "import logging, nova_hookspec\n"
                           "from nova_hookspec._plugins import process, report\n"
                           "print(report.summary(process.get_plugin_manager(), []))")
    assert shown.returncode == 0, shown.stderr
    assert ("deferred to the worker: acme-ledger:acme_ledger:LEDGER (create_instance_post), "
            "acme-ledger:acme_ledger:LEDGER (delete_instance_post)") in shown.stdout


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_worker_serves_prometheus_metrics_from_the_journal(host: Host) -> None:
    import urllib.request

    (host.gates / "down").touch()
    host.calls(2)
    port = _free_port()
    worker = host.start("-m", "nova_hookspec", "worker", "--metrics-port", str(port),
                        env={"NOVA_HOOKSPEC_MAX_ATTEMPTS": "2"})

    def scrape() -> str:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as got:
                return str(got.read().decode())
        except OSError:
            return ""

    hook = 'hook="create_instance_post"'
    host.wait_for(lambda: 'nova_hookspec_deferred_queue_depth{state="dead"} 2.0' in scrape(),
                  "both jobs dead")
    text = scrape()
    for outcome, count in (("enqueued", 2), ("retried", 2), ("dead", 2)):
        assert f'nova_hookspec_deferred_jobs_total{{{hook},outcome="{outcome}",' \
               f'plugin="acme-ledger:acme_ledger:LEDGER"}} {count}.0' in text, text
    assert f'nova_hookspec_deferred_run_seconds_count{{{hook},' \
           f'plugin="acme-ledger:acme_ledger:LEDGER"}} 4.0' in text
    assert "nova_hookspec_deferred_oldest_pending_age_seconds 0.0" in text
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=60) == 0


def test_the_worker_reads_nova_conf_and_logs_with_oslo_log(host: Host, tmp_path: Path) -> None:
    journal = tmp_path / "from-conf.sqlite"
    log_file = tmp_path / "worker.log"
    conf = tmp_path / "nova.conf"
    conf.write_text(f"[DEFAULT]\nlog_file = {log_file}\n\n[nova_hookspec]\n"
                    f"journal = {journal}\nmax_attempts = 1\n")
    env = {k: v for k, v in host.env.items() if k != "NOVA_HOOKSPEC_JOURNAL"}
    host.env = env
    (host.gates / "down").touch()
    called = host.run("-c", "import nova_hookspec._plugins.config as c; "
                            f"c.use_files([{str(conf)!r}]); import acme_calls")
    assert called.returncode == 0, called.stderr
    assert list((tmp_path / "from-conf.sqlite.spool").iterdir())  # the job, beside it
    done = host.run("-m", "nova_hookspec", "worker", "--drain", "--config-file", str(conf))
    assert done.returncode == 0, done.stderr
    text = log_file.read_text()
    assert "nova_hookspec worker" in text
    assert "is dead after 1 attempt(s)" in text  # max_attempts from nova.conf


def test_a_misspelt_deferred_plugin_is_warned_about_with_the_nearest_name(host: Host) -> None:
    checked = host.run("-m", "nova_hookspec", "check", env={"NOVA_HOOKSPEC_DEFERRED": "acme-ledgr"})
    assert checked.returncode == 1
    assert "acme-ledgr" in checked.stdout
    assert "did you mean 'acme-ledger'" in checked.stdout


def test_a_password_passed_by_position_never_reaches_the_journal(site: Site,
                                                                 tmp_path: Path) -> None:
    # Nova's build_and_run_instance passes admin_password to _do_build_and_run_instance
    # by position; a legacy post deferred by the operator asks for all of args.
    site.add_dist("acme-build", {"nova.hooks": ["build_instance = acme_build:Hook"]}, {
        "acme_build": '''
import os
class Hook:
    def post(self, rv, manager, context, instance, image, spec, props, password, *rest, **kw):
        with open(os.environ["LEDGER"], "a") as f:
            f.write(f"built {instance.uuid} password={password}\\n")
''', "acme_calls": CALLS, "acme_build_call": '''
import nova_hookspec
from nova_hookspec._nova.standins import Instance

@nova_hookspec.add_hook("build_instance")
def _do_build_and_run_instance(self, context, instance, image, request_spec,
                               filter_properties, admin_password, injected_files,
                               requested_networks, security_groups, block_device_mapping,
                               node=None, limits=None, host_list=None, accel_uuids=None):
    return "ACTIVE"

_do_build_and_run_instance(None, None, Instance(), {}, None, {}, "PASS-" + "w0rd", [], None,
                           [], None, node="n1")
'''})
    host = Host(site, tmp_path)
    host.env["NOVA_HOOKSPEC_DEFERRED"] = "acme-build"
    done = host.run("-c", "import acme_build_call")
    assert done.returncode == 0, done.stderr
    files = [p for p in host.journal.parent.rglob("*") if p.is_file()]
    assert files  # the job's spool file
    assert b"w0rd" not in b"".join(p.read_bytes() for p in files)
    host.drain()
    host.close()
    [line] = host.lines()
    assert line[0] == "built"
    assert line[2] == "password=None"


def test_a_job_longer_than_its_lease_is_not_taken_by_another_worker(host: Host) -> None:
    (host.gates / "block").touch()
    [uuid] = host.calls()
    first = host.start("-m", "nova_hookspec", "worker")
    host.wait_for(lambda: any(line[:2] == ["start", "create"] for line in host.lines()),
                  "the plugin started")
    second = host.start("-m", "nova_hookspec", "worker")
    time.sleep(3 * 3)  # three leases (NOVA_HOOKSPEC_LEASE=3): renewed by the first worker
    (host.gates / "block").unlink()
    host.wait_for(lambda: done_creates(host), "the job done")
    for worker in (first, second):
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0
    starts = [line for line in host.lines() if line[:2] == ["start", "create"]]
    assert [line[2] for line in starts] == [uuid]  # started once: never taken over
    assert [line[4] for line in done_creates(host)] == ["1"]


def test_a_worker_stalled_past_its_lease_says_so_and_records_nothing_of_its_run(
        host: Host) -> None:
    """Stopped (a frozen VM, a paused container) for longer than its lease: another
    worker takes the job and runs it; the stalled one, resumed, says that its lease ran
    out and another worker took the job, and its run's outcome is not recorded."""
    (host.gates / "block").touch()
    [uuid] = host.calls()
    first = host.start("-m", "nova_hookspec", "worker")

    def starts() -> list[list[str]]:
        return [line for line in host.lines() if line[:2] == ["start", "create"]]

    host.wait_for(lambda: len(starts()) == 1, "the plugin started")
    first.send_signal(signal.SIGSTOP)
    try:
        second = host.start("-m", "nova_hookspec", "worker")
        host.wait_for(lambda: len(starts()) == 2, "the second worker took the job")
    finally:
        first.send_signal(signal.SIGCONT)
    log = host.ledger.parent / "processes.log"
    said = (f"of deferred job {socket.gethostname()}:1 (acme-ledger:acme_ledger:LEDGER, "
            "create_instance_post) ran out before this worker, stalled, renewed it, and "
            "another worker took the job")
    host.wait_for(lambda: said in log.read_text(), "the stalled worker said so")
    (host.gates / "block").unlink()
    host.wait_for(lambda: len(done_creates(host)) == 2, "both runs ended")
    for worker in (first, second):
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0
    # Ledger: the two runs of the job, the first run's attempt 1, the second's 2; the
    # journal recorded the second's outcome only, once.
    assert [(line[2], line[4]) for line in starts()] == [(uuid, "1"), (uuid, "2")]
    assert sorted(line[4] for line in done_creates(host)) == ["1", "2"]
    text = log.read_text()
    assert text.count(said) == 1
    assert text.count("create_instance_post) done, attempt 2") == 1
    assert "done, attempt 1" not in text  # the stalled run: not recorded
    status = host.status()
    assert (status["pending"], status["running"], status["dead"]) == (0, 0, 0)


#: Holds a write lock on the journal (argv[1]) for argv[2] seconds, as a long
#: transaction of another process would (an operator's sqlite3 shell).
LOCKER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
"""


def locked(host: Host, seconds: float) -> subprocess.Popen[str]:
    """A process holding the journal's write lock for ``seconds``."""
    locker = subprocess.Popen([sys.executable, "-c", LOCKER, str(host.journal),
                               str(seconds)], stdout=subprocess.PIPE, text=True)
    host.processes.append(locker)
    assert locker.stdout is not None
    assert locker.stdout.readline().strip() == "locked"
    return locker


def test_a_worker_stopped_while_another_process_locks_the_journal_exits_0_in_time(
        host: Host) -> None:
    """SIGTERM while another process holds the journal's write lock: the worker's
    threads wait inside their statements (the collector's pass, a lane's claim) up to
    the busy timeout (60 s); its stop waits for the collector's last pass
    (``LAST_PASS``, 30 s), not more: the process's end does not close a connection
    under a thread's statement (it waited out each busy timeout, a minute and more
    past the "stopped" line, or crashed)."""
    from nova_hookspec.deferred.worker import LAST_PASS

    worker = host.start("-m", "nova_hookspec", "worker", "--grace", "0.5",
                        env={"PYTHONFAULTHANDLER": "1"})
    log = host.ledger.parent / "processes.log"
    host.wait_for(lambda: "lane(s)" in log.read_text(), "the worker started")
    locked(host, 600)
    host.calls(2)  # spooled: the collector's pass waits for the lock
    time.sleep(1)
    stopped = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    try:
        status = worker.wait(timeout=LAST_PASS + 20)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"still running {LAST_PASS + 20:.0f} s after SIGTERM: "
                             f"{log.read_text()[-3000:]}") from None
    text = log.read_text()
    assert status == 0, text
    assert time.monotonic() - stopped < LAST_PASS + 20
    assert "Fatal Python error" not in text
    assert "did not end within 30 s: the next worker collects what it left" in text


def test_a_worker_stopped_with_jobs_while_the_journal_is_locked_gives_up_giving_back(
        host: Host) -> None:
    """SIGTERM with a job running past the grace and two claimed, while another
    process holds the journal's write lock: giving a job back waits out the busy
    timeout (60 s) and fails; the worker does not wait it out again for each job (three
    minutes and more), it leaves them to the next worker on the host, which takes them
    back at once (:meth:`.Journal.release_dead_workers`), and runs them."""
    from nova_hookspec.deferred.worker import LAST_PASS

    (host.gates / "block").touch()
    uuids = host.calls(3)
    worker = host.start("-m", "nova_hookspec", "worker", "--grace", "0.5")
    host.wait_for(lambda: len([line for line in host.lines()
                               if line[:2] == ["start", "create"]]) == 1, "a job started")
    locker = locked(host, 600)
    stopped = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    bound = 60 + LAST_PASS + 20  # one busy timeout, the collector's last pass, a margin
    log = host.ledger.parent / "processes.log"
    try:
        status = worker.wait(timeout=bound)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"still running {bound:.0f} s after SIGTERM: "
                             f"{log.read_text()[-3000:]}") from None
    text = log.read_text()
    assert status == 0, text
    assert time.monotonic() - stopped < bound
    assert text.count("could not give back") == 1, text
    assert "could not give back 3 deferred job(s)" in text, text
    locker.kill()
    locker.wait()
    (host.gates / "block").unlink()
    host.drain()  # takes them back at once, not after their leases
    assert sorted(line[2] for line in done_creates(host)) == sorted(uuids)
    status_now = host.status()
    assert (status_now["pending"], status_now["running"], status_now["dead"]) == (0, 0, 0)


def test_a_refused_registration_leaves_no_deferred_observer_behind() -> None:
    import nova_hookspec
    from nova_hookspec import NovaPluginManager

    class Specs:
        @nova_hookspec.hookspec
        def zeta_event(self, name: str) -> None:
            """Another project's hook."""

    class Plugin:
        @nova_hookspec.hookimpl(deferred=True)
        def create_instance_post(self, result: object) -> None:
            pass

        @nova_hookspec.hookimpl
        def zeta_event(self, name: str, extra: object) -> None:  # refused by pluggy, after
            pass

    pm = NovaPluginManager()
    pm.add_hookspecs(Specs)
    with pytest.raises(Exception, match="extra"):
        pm.register(Plugin(), "half")
    assert pm.deferred == {}
    assert pm.get_plugin("half") is None


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"),
                    reason="a PID namespace of its own needs root and util-linux's unshare")
def test_a_worker_in_another_pid_namespace_never_takes_a_live_workers_job(host: Host) -> None:
    """Issue 28: containers on the host network share a host name, not their PIDs. A
    worker started in a PID namespace of its own (``unshare --pid``) must not take the
    live worker of the host namespace for dead and run its job at the same time: it
    waits for the job's lease, which the live worker keeps renewing."""
    (host.gates / "block").touch()
    [uuid] = host.calls()
    first = host.start("-m", "nova_hookspec", "worker", "--drain")
    host.wait_for(lambda: [x[:3] for x in host.lines()] == [["start", "create", uuid]],
                  "the first worker started the job")
    with open(host.ledger.parent / "processes.log", "a") as log:
        other = subprocess.Popen(
            ["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-m",
             "nova_hookspec", "worker", "--drain"],
            env=host.env, stdout=log, stderr=log, text=True)
    host.processes.append(other)
    # Longer than two leases (3 s each): the other worker looked, more than once.
    time.sleep(8)
    assert [x[0] for x in host.lines()] == ["start"], host.lines()  # not started twice
    (host.gates / "block").unlink()
    assert first.wait(timeout=120) == 0
    assert other.wait(timeout=120) == 0
    assert [x[:3] for x in host.lines()] == [["start", "create", uuid], ["done", "create", uuid]]


def test_a_journal_removed_under_a_running_worker_loses_no_later_job(host: Host) -> None:
    """Found by a hostile review: with the journal removed while the worker ran, the
    worker went on in the unlinked file and collected the later calls' spool files into
    it: acknowledged jobs never ran. It now opens the file at the journal's path again,
    with an ERROR line, and collects the spool into it."""
    worker = host.start("-m", "nova_hookspec", "worker")
    [first] = host.calls()
    host.wait_for(lambda: len(done_creates(host)) == 1, "the first job ran")
    spool = host.journal.parent / (host.journal.name + ".spool")
    # its spool file collected and removed (else the new journal imports it again:
    # at-least-once, but this test counts runs)
    host.wait_for(lambda: not [p for p in spool.iterdir() if not p.name.startswith(".")],
                  "the first call's spool file removed")
    for leftover in host.journal.parent.glob(host.journal.name + "*"):
        if leftover.is_file():
            leftover.unlink()  # the journal and its -wal and -shm: a spool folder stays
    later = host.calls(3)
    host.wait_for(lambda: len(done_creates(host)) == 4, "the later jobs ran")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=120) == 0
    assert sorted(line[2] for line in done_creates(host)) == sorted([first, *later])
    log = (host.ledger.parent / "processes.log").read_text()
    assert f"the journal {host.journal} was removed or replaced while in use" in log
    assert host.journal.exists()


def test_secrets_nested_in_what_is_carried_are_never_written() -> None:
    """A hostile review: nested secret keys (a context's headers and credentials, an
    instance's metadata and system_metadata, a dict's api_key) reached the spool."""
    from nova_hookspec._nova.standins import Instance, RequestContext
    from nova_hookspec.deferred import carry

    context = RequestContext(project_id="p-1")
    vars(context)["headers"] = {"X-Auth-Token": "HDR-s3cr3t", "Accept": "json"}
    vars(context)["credentials"] = {"secret": "CRED-s3cr3t"}
    instance = Instance("web-1", metadata={"team": "blue", "password": "META-s3cr3t",
                                           "mytoken": "TOK-s3cr3t"})
    instance.system_metadata = {"password_0": "ENC-s3cr3t", "image_os": "cirros"}
    text = carry.dumps({"context": context, "instance": instance,
                        "kwargs": {"keystone_pass": "KS-s3cr3t", "private_key": "PK-s3cr3t",
                                   "min_count": 1}})
    assert "s3cr3t" not in text
    got = carry.loads(text)
    # A dict's secret keys arrive as None (a Nova object's are left out: its own rule).
    assert got["instance"].metadata == {"team": "blue", "password": None, "mytoken": None}
    assert got["kwargs"] == {"keystone_pass": None, "private_key": None, "min_count": 1}

"""A small cloud in processes: API and compute hosts with journals of their own,
their relays, workers, and the ledger the plugin writes.

Each "host" is a configuration file as a Nova service has one (``[DEFAULT]
host`` and ``[nova_hookspec]``); its hooked calls run in a process that
parses it as a Nova service does, and its relay is ``nova-hookspec worker
--relay-only --config-file`` it. The workers are ``nova-hookspec worker
--no-relay``. The plugin is a real distribution on ``sys.path``.
"""

from __future__ import annotations

import collections
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

from sitehelper import Site

PLUGIN = '''
import os, time
from pathlib import Path
import nova_hookspec

def _line(*words):
    with open(os.environ["LEDGER"], "a") as f:
        f.write(" ".join(map(str, words)) + "\\n")

def _work(kind, instances, delivery):
    for inst in instances:
        _line("start", kind, inst.uuid, delivery.job_id, delivery.attempt, os.getpid())
    time.sleep(float(os.environ.get("SLOW", "0")))
    if Path(os.environ["GATES"], "block").exists():  # held at the gate until it goes
        for inst in instances:
            _line("blocked", kind, inst.uuid, delivery.job_id, delivery.attempt, os.getpid())
    while Path(os.environ["GATES"], "block").exists():
        time.sleep(0.02)
    for inst in instances:
        if inst.hostname.startswith("doomed") and Path(os.environ["GATES"], "doom").exists():
            raise ConnectionError(f"inventory refuses {inst.hostname}")
    for inst in instances:
        _line("done", kind, inst.uuid, delivery.job_id, delivery.attempt, os.getpid())

class Ledger:
    @nova_hookspec.hookimpl(deferred=True)
    def create_instance_post(self, context, result, admin_password, delivery):
        if getattr(context, "auth_token", None) is not None or admin_password is not None:
            _line("SECRET-LEAKED")
        _work("create", result[0], delivery)

    @nova_hookspec.hookimpl(deferred=True)
    def delete_instance_post(self, instance, delivery):
        _work("delete", [instance], delivery)

LEDGER = Ledger()

if os.environ.get("STOP_AFTER_FENCE"):
    # A stop landing just after the broker answered a fence (test_faults.py): with the
    # gate file there, the worker stops itself at that moment (a SIGSTOP aimed at this
    # thread stops the whole process before the thread goes on).
    import signal, threading
    from nova_hookspec.deferred import liveness

    _fenced = liveness.StartGate.fenced

    def _stop_then_fenced(self, since):
        gate = Path(os.environ["GATES"], "stop-after-fence")
        if gate.exists():
            gate.unlink()
            _line("self-stop", "-", "-", "-", "-", os.getpid())
            signal.pthread_kill(threading.get_ident(), signal.SIGSTOP)
        _fenced(self, since)

    liveness.StartGate.fenced = _stop_then_fenced
'''

#: An API host: parses its nova.conf, creates instances, writes what it made.
API_CALLS = '''
import datetime, json, sys
from oslo_config import cfg
cfg.CONF(["--config-file", sys.argv[1]], project="nova", default_config_files=[])
import nova_hookspec
from nova_hookspec._nova.standins import ComputeAPI as API, RequestContext

api = API()
create = nova_hookspec.add_hook("create_instance")(api.create.__func__)
ctx = RequestContext(project_id="p-1")
ctx.auth_token = "TOKEN-" + "s3cr3t"
made = []
for n in range(int(sys.argv[2])):
    instances, _ = create(api, ctx, None, "cirros", display_name=f"{sys.argv[4]}-{n}",
                          max_count=int(sys.argv[5]), admin_password="PASS-" + "w0rd")
    made.extend(instances)
with open(sys.argv[3], "a") as out:
    for i in made:
        out.write(json.dumps({"uuid": i.uuid, "hostname": i.hostname,
                              "reservation_id": i.reservation_id,
                              "created_at": i.created_at.isoformat()}) + "\\n")
print(json.dumps({"made": len(made), "kombu": "kombu" in sys.modules}))
'''

#: A compute host: parses its nova.conf, deletes the instances it is given.
COMPUTE_CALLS = '''
import datetime, json, sys
from oslo_config import cfg
cfg.CONF(["--config-file", sys.argv[1]], project="nova", default_config_files=[])
import nova_hookspec
from nova_hookspec._nova.standins import ComputeManager, Instance, RequestContext

manager = ComputeManager()
delete = nova_hookspec.add_hook("delete_instance")(type(manager)._delete_instance)
ctx = RequestContext(project_id="p-1")
count = 0
for line in open(sys.argv[2]):
    rec = json.loads(line)
    inst = Instance(hostname=rec["hostname"], uuid=rec["uuid"])
    inst.reservation_id = rec["reservation_id"]
    inst.created_at = datetime.datetime.fromisoformat(rec["created_at"])
    delete(manager, ctx, inst, [])
    count += 1
print(json.dumps({"deleted": count, "kombu": "kombu" in sys.modules}))
'''


class Cloud:
    """Hosts, relays and workers on the broker at ``url``."""

    def __init__(self, site: Site, root: Path, url: str, **settings: str) -> None:
        site.add_dist("acme-ledger", {"nova_hookspec": ["ledger = acme_ledger:LEDGER"]},
                      {"acme_ledger": PLUGIN, "acme_api_calls": API_CALLS,
                       "acme_compute_calls": COMPUTE_CALLS})
        self.site = site
        self.root = root
        self.ledger = root / "ledger.txt"
        self.gates = root / "gates"
        self.gates.mkdir()
        self.url = url
        self.settings = {"broker_lanes": "4", "max_attempts": "3",
                         "retry_min_backoff": "0.05", "retry_max_backoff": "0.2",
                         "create_wait": "600", **settings}
        self.env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site.root), *sys.path]),
                    "LEDGER": str(self.ledger), "GATES": str(self.gates)}
        self.env = {k: v for k, v in self.env.items() if not k.startswith("NOVA_HOOKSPEC_")}
        self.processes: list[subprocess.Popen[str]] = []
        self.relays: dict[str, subprocess.Popen[str]] = {}
        self.workers: list[subprocess.Popen[str]] = []
        self.instances = root / "instances.jsonl"
        self.killed: set[int] = set()

    def kill(self, process: subprocess.Popen[str]) -> None:
        """SIGKILL ``process`` (and expect it to be gone)."""
        self.killed.add(process.pid)
        process.send_signal(signal.SIGKILL)
        process.wait()

    def conf(self, host: str) -> Path:
        """``host``'s nova.conf (written on first use)."""
        path = self.root / f"{host}.conf"
        if not path.exists():
            options = "".join(f"{k} = {v}\n" for k, v in self.settings.items())
            path.write_text(f"[DEFAULT]\nhost = {host}\n\n[nova_hookspec]\n"
                            f"journal = {self.root / host / 'journal.sqlite'}\n"
                            f"transport_url = {self.url}\n{options}")
        return path

    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        with open(self.root / "processes.log", "a") as log:
            process = subprocess.Popen([sys.executable, *args], stdout=log, stderr=log,
                                       text=True, env={**self.env, **(env or {})})
        self.processes.append(process)
        return process

    def run(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, *args], capture_output=True, text=True,
                              env={**self.env, **(env or {})}, timeout=300, check=False)

    def relay(self, host: str, *extra: str) -> subprocess.Popen[str]:
        self.relays[host] = self.start("-m", "nova_hookspec", "worker", "--relay-only",
                                       "--config-file", str(self.conf(host)), *extra)
        return self.relays[host]

    def worker(self, lanes: int = 2, *extra: str,
               env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        made = self.start("-m", "nova_hookspec", "worker", "--no-relay", "--lanes", str(lanes),
                          "--config-file", str(self.conf("worker")), *extra, env=env)
        self.workers.append(made)
        return made

    def settled(self) -> None:
        """Wait until every worker's lane runners took lanes (a rebalance after the
        workers started), so that the jobs that follow are shared among them."""
        pids = {str(w.pid) for w in self.workers if w.poll() is None}
        log = self.root / "processes.log"

        def took() -> bool:
            lines = log.read_text().splitlines() if log.exists() else []
            return all(any(f":{pid}/" in line and " took " in line for line in lines)
                       for pid in pids)

        self.wait_for(took, "every worker took lanes")

    def create(self, host: str, calls: int, prefix: str = "server",
               per_call: int = 1) -> dict[str, Any]:
        done = self.run("-c", "import acme_api_calls", str(self.conf(host)), str(calls),
                        str(self.instances), prefix, str(per_call))
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)  # type: ignore[no-any-return]

    def delete(self, host: str, which: Callable[[dict[str, Any]], bool] = lambda r: True
               ) -> dict[str, Any]:
        chosen = self.root / f"delete-{time.monotonic_ns()}.jsonl"
        chosen.write_text("".join(json.dumps(r) + "\n" for r in self.records() if which(r)))
        done = self.run("-c", "import acme_compute_calls", str(self.conf(host)), str(chosen))
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)  # type: ignore[no-any-return]

    def cli(self, host: str, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run("-m", "nova_hookspec", *args[:1], "--config-file", str(self.conf(host)),
                        *args[1:])

    def records(self) -> list[dict[str, Any]]:
        if not self.instances.exists():
            return []
        return [json.loads(line) for line in self.instances.read_text().splitlines()]

    def lane_of(self) -> dict[str, int]:
        """Each instance's lane number, as the relays route it: its UUID's, or for the
        instances of one multi-create (one ``reservation_id``) the first of their
        UUIDs'."""
        from nova_hookspec.deferred.brokers.rabbit import lane_number

        lanes = int(self.settings["broker_lanes"])
        first: dict[str, str] = {}
        for r in self.records():
            first[r["reservation_id"]] = min(first.get(r["reservation_id"], r["uuid"]),
                                             r["uuid"])
        return {r["uuid"]: lane_number(first[r["reservation_id"]], lanes)
                for r in self.records()}

    def logged(self) -> list[str]:
        """The processes' log lines as an operator reads them, without the terminal's
        colour codes: oslo.log 4.1 (the Ussuri pins) logs to the console (stdout) through
        its ColorHandler, which ends every line with ``ESC[00m`` (later releases only with
        ``log_color``)."""
        text = (self.root / "processes.log").read_text()
        return [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in text.splitlines()]

    def lines(self) -> list[list[str]]:
        if not self.ledger.exists():
            return []
        return [line.split() for line in self.ledger.read_text().splitlines()]

    def running(self) -> set[str]:
        """The jobs whose run started and has not finished (by their start and done lines)."""
        started: collections.Counter[str] = collections.Counter()
        for line in self.lines():
            if line[0] in ("start", "done"):
                started[line[3]] += 1 if line[0] == "start" else -1
        return {job for job, open_runs in started.items() if open_runs > 0}

    def done(self, kind: str) -> set[str]:
        return {line[2] for line in self.lines() if line[:2] == ["done", kind]}

    def wait_for(self, predicate: Callable[[], bool], what: str, seconds: float = 180) -> None:
        deadline = time.monotonic() + seconds
        while not predicate():
            ended = [p.args for p in self.processes if p.poll() is not None and p.returncode
                     and p.pid not in self.killed]
            if time.monotonic() > deadline or ended:
                log = self.root / "processes.log"
                raise AssertionError(f"never happened: {what}; failed {ended}; ledger "
                                     f"{self.lines()[-20:]}; log "
                                     f"{log.read_text()[-4000:] if log.exists() else ''}")
            time.sleep(0.1)

    def all_done(self, seconds: float = 180) -> None:
        uuids = {r["uuid"] for r in self.records()}
        self.wait_for(lambda: self.done("create") >= uuids and
                      (self.deleted_uuids() <= self.done("delete")), "every job done", seconds)

    def deleted_uuids(self) -> set[str]:
        return {r["uuid"] for f in self.root.glob("delete-*.jsonl")
                for r in map(json.loads, f.read_text().splitlines())}

    def check_ledger(self, duplicates_allowed: int = 0,
                     fenced: set[tuple[str, str]] | None = None) -> collections.Counter[str]:
        """Every job done at least once; more than once only up to what a kill or a
        restart left unacked; per instance (and this plugin) every run of its create
        before any run of its delete; no secret reached the plugin.

        :param fenced: runs (job id, pid) of a stopped lane holder whose outcome the
            worker did not record: counted as duplicates, left out of the order."""
        fenced = fenced or set()
        everything = self.lines()
        lines = [line for line in everything if tuple(line[3:6:2]) not in fenced]
        repeats_of_fenced = sum(1 for line in everything if line[0] == "done"
                                and tuple(line[3:6:2]) in fenced)
        assert ["SECRET-LEAKED"] not in lines
        created = {r["uuid"] for r in self.records()}
        deleted = self.deleted_uuids()
        assert created <= self.done("create"), created - self.done("create")
        assert deleted <= self.done("delete"), deleted - self.done("delete")
        # One run of a create of several instances writes a line per instance.
        lines_of: collections.Counter[str] = collections.Counter()
        instances_of: dict[str, set[str]] = collections.defaultdict(set)
        for line in lines:
            if line[0] == "done":
                lines_of[line[3]] += 1
                instances_of[line[3]].add(line[2])
        repeats = collections.Counter({job: n // len(instances_of[job])
                                       for job, n in lines_of.items()})
        extra = sum(n - 1 for n in repeats.values()) + repeats_of_fenced
        assert extra <= duplicates_allowed, {j: n for j, n in repeats.items() if n > 1}
        for uuid in deleted:
            creates = [n for n, line in enumerate(lines) if line[:3] == ["done", "create", uuid]]
            deletes = [n for n, line in enumerate(lines) if line[:3] == ["start", "delete", uuid]]
            assert max(creates) < min(deletes), f"instance {uuid}: a delete ran before its create"
        return repeats

    def check_no_secret(self, secret: str, *outputs: str) -> None:
        """``secret`` (the broker's password, the request's token, the admin password)
        is in no log line, no journal and none of the ``outputs``."""
        logs = (self.root / "processes.log").read_bytes()
        found = [*self.root.glob("*/journal.sqlite*"), *self.root.glob("*/journal.sqlite.spool/*")]
        journals = b"".join(p.read_bytes() for p in found if p.is_file())  # and spool files
        for word in (secret, "s3cr3t", "w0rd"):
            assert word.encode() not in logs, word
            assert word.encode() not in journals, word
            assert all(word not in text for text in outputs), word

    def signal_all(self, which: list[subprocess.Popen[str]], sig: int) -> None:
        for process in which:
            if process.poll() is None:
                process.send_signal(sig)

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)
                process.kill()
            process.wait()

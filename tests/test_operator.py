"""Where the journal is and who may touch it, and what the commands say (issue 28
item 7, issue 30 items 1-4): through the installed command in a subprocess, real
distributions, real files, a real second user."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import jsonschema
import pytest
from sitehelper import Site

import nova_hookspec

SCHEMAS = Path(nova_hookspec.__file__).parent / "schemas"

PLUGIN = '''
import os
import nova_hookspec

def _ledger(line):
    with open(os.environ["LEDGER"], "a") as f:
        f.write(line + "\\n")

class Inventory:
    @nova_hookspec.hookimpl(deferred=True)
    def create_instance_post(self, result, delivery):
        _ledger(f"ran {delivery.job_id} {delivery.attempt}")
        if os.path.exists(os.environ["LEDGER"] + ".fail"):
            raise ConnectionError("inventory unreachable")

PLUGIN = Inventory()
'''

CALL = '''
import sys
import nova_hookspec
from nova_hookspec._nova.standins import Instance, RequestContext

@nova_hookspec.add_hook("create_instance")
def create(self, context, flavor, image_href):
    return [Instance(hostname=image_href)], "r-1"

create(None, RequestContext(), "m1", "server-1")
print("RETURNED")
'''

#: The service: Nova parses nova.conf (and registers state_path) before any call.
SERVICE = '''
import sys
from oslo_config import cfg
cfg.CONF.register_opt(cfg.StrOpt("state_path", default="/nonexistent/nova"))
cfg.CONF(["--config-file", sys.argv[1]], project="nova")
''' + CALL


class Operator:
    """A host's folder, an installed deferred plugin, and the command run in it."""

    def __init__(self, site: Site, root: Path) -> None:
        site.add_dist("acme-inventory", {"nova_hookspec": ["inventory = acme_inventory:PLUGIN"]},
                      {"acme_inventory": PLUGIN})
        site.add_module("acme_call", CALL)
        site.add_module("acme_service", SERVICE)
        self.root = root
        self.state = root / "state"
        self.state.mkdir()
        self.work = root / "work"  # the current folder of every command
        self.work.mkdir()
        self.ledger = root / "ledger.txt"
        self.conf = root / "nova.conf"
        self.conf.write_text(f"[DEFAULT]\nstate_path = {self.state}\nhost = compute-7\n")
        self.journal = self.state / "nova_hookspec-journal.sqlite"
        self.env = {key: value for key, value in os.environ.items()
                    if not key.startswith("NOVA_HOOKSPEC_")}
        self.env.update({"PYTHONPATH": os.pathsep.join([str(site.root), *sys.path]),
                         "LEDGER": str(self.ledger)})

    def run(self, *args: str, env: dict[str, str] | None = None,
            stdout: int | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, *args], text=True, cwd=self.work,
                              env={**self.env, **(env or {})}, timeout=300, check=False,
                              stdout=stdout if stdout is not None else subprocess.PIPE,
                              stderr=subprocess.PIPE)

    def cli(self, *args: str, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[str]:
        return self.run("-m", "nova_hookspec", *args, env=env)

    def ledger_lines(self) -> list[str]:
        return self.ledger.read_text().splitlines() if self.ledger.exists() else []


@pytest.fixture
def op(site: Site, tmp_path: Path) -> Operator:
    return Operator(site, tmp_path)


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _strict(text: str) -> object:
    def refuse(constant: str) -> object:
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


# ------------------------------------------------------------------ the same journal


def test_the_worker_and_the_commands_find_the_services_journal_under_state_path(
        op: Operator) -> None:
    call = op.run("-c", "import acme_service", str(op.conf))
    assert "RETURNED" in call.stdout, call.stderr
    # The service wrote its job where Nova's state_path is: its spool file beside the journal.
    assert list(Path(f"{op.journal}.spool").iterdir())
    drained = op.cli("worker", "--config-file", str(op.conf), "--drain")
    assert drained.returncode == 0, drained.stderr
    assert op.ledger_lines() == ["ran compute-7:1 1"]  # the service's job, run once
    status = op.cli("deferred", "status", "--config-file", str(op.conf), "--json")
    assert status.returncode == 0, status.stderr
    document = _strict(status.stdout)
    assert isinstance(document, dict)
    assert document["journal"] == str(op.journal)
    done = [row["count"] for row in document["counters"] if row["what"] == "done"]
    assert done == [1]
    assert _files(op.work) == []  # nothing beside the commands


def test_read_only_commands_create_no_journal(op: Operator) -> None:
    for given in (["--config-file", str(op.conf)], []):
        status = op.cli("deferred", "status", *given)
        assert status.returncode == 0, status.stderr
        where = op.journal if given else op.work / "nova_hookspec-journal.sqlite"
        assert f"no journal at {where}: nothing deferred yet" in status.stderr
        assert "0 pending, 0 running, 0 dead; oldest pending: none" in status.stdout
        as_json = op.cli("deferred", "status", "--json", *given)
        document = _strict(as_json.stdout)
        assert isinstance(document, dict)
        assert (document["pending"], document["dead"]) == (0, 0)
        listed = op.cli("deferred", "list", "--dead", *given)
        assert (listed.returncode, listed.stdout.strip()) == (0, "no dead jobs")
        checked = op.cli("check", *given)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "not created yet (the first deferred job creates it)" in checked.stdout
    assert _files(op.state) == []
    assert _files(op.work) == []


# ------------------------------------------------------------------ who may touch it


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to create files for another user")
def test_a_journal_created_by_root_stays_usable_for_the_services_user(op: Operator) -> None:
    nobody = pwd.getpwnam("nobody")
    base = Path(tempfile.mkdtemp(prefix="nova-hookspec-owner-"))  # reachable by nobody
    try:
        base.chmod(0o755)
        state = base / "state"
        state.mkdir()
        os.chown(state, nobody.pw_uid, nobody.pw_gid)
        journal = state / "nested" / "journal.sqlite"
        env = {"NOVA_HOOKSPEC_JOURNAL": str(journal)}
        first = op.cli("worker", "--drain", env=env)  # root, before any service call
        assert first.returncode == 0, first.stderr
        for made, mode in ((state / "nested", 0o700), (journal, 0o600)):
            found = os.stat(made)
            assert (found.st_uid, found.st_gid) == (nobody.pw_uid, nobody.pw_gid), made
            assert stat.S_IMODE(found.st_mode) == mode, made
        # The service's user: loads its plugins as root (the test's files are root's),
        # then drops to nobody before the hooked call.
        service = op.run("-c", "import importlib.util, os\n"
                         "from nova_hookspec._plugins.process import get_plugin_manager\n"
                         "get_plugin_manager().load_all()\n"
                         "import json, sqlite3, uuid, nova_hookspec._nova.standins\n"
                         "import nova_hookspec.deferred.brokers.journal\n"
                         "code = importlib.util.find_spec('acme_call').loader.get_code('acme_call')\n"
                         f"os.setgid({nobody.pw_gid}); os.setuid({nobody.pw_uid})\n"
                         "exec(code)", env=env)
        assert "RETURNED" in service.stdout, service.stderr
        assert "could not be written" not in service.stderr
        assert op.ledger_lines() == []  # written, not run in the call
        status = op.cli("deferred", "status", "--json", env=env)
        document = _strict(status.stdout)
        assert isinstance(document, dict)
        assert document["pending"] == 1
        # Root runs the job too (a hostile review: the delivered record, which reconcile
        # reads, was left root's, and the service user's worker failed on it after).
        drained = op.cli("worker", "--drain", env=env)
        assert drained.returncode == 0, drained.stderr
        assert len(op.ledger_lines()) == 1
        assert Path(f"{journal}.spool/.delivered").exists()
        for path in [*journal.parent.iterdir(), *Path(f"{journal}.spool").iterdir()]:
            # -wal/-shm, the spool, the locks, the delivered record in the spool too
            assert os.stat(path).st_uid == nobody.pw_uid, path
    finally:
        shutil.rmtree(base)


# ------------------------------------------------------------------ demo and smoke


def test_demo_and_smoke_never_write_into_the_real_journal(op: Operator) -> None:
    demo = op.cli("demo", "--config-file", str(op.conf))
    assert demo.returncode == 0, demo.stderr
    smoke = op.cli("check", "--smoke", "--config-file", str(op.conf))
    assert not op.journal.exists()
    assert (_files(op.state), _files(op.work)) == ([], [])
    # The installed deferred plugin and the demo's own each wrote one job: to a scratch one.
    assert "2 jobs wait in the journal" in demo.stdout
    assert smoke.returncode == 0, smoke.stdout + smoke.stderr
    assert "smoke ok     acme-inventory:acme_inventory:PLUGIN create_instance_post" in smoke.stdout
    # "ok" because the observer itself ran (the demo's worker ran it too, in its scratch one)
    assert [line for line in op.ledger_lines() if "smoke" in line] == ["ran smoke:1 1"]


# ------------------------------------------------------------------ ids, JSON, errors


def _dead_job(op: Operator) -> None:
    """One job of acme-inventory, dead after one failed run (max_attempts 1)."""
    Path(f"{op.ledger}.fail").touch()
    assert "RETURNED" in op.run("-c", "import acme_service", str(op.conf)).stdout
    drained = op.cli("worker", "--drain", "--config-file", str(op.conf),
                     env={"NOVA_HOOKSPEC_MAX_ATTEMPTS": "1"})
    assert drained.returncode == 0, drained.stderr
    Path(f"{op.ledger}.fail").unlink()


def test_a_job_id_as_plugins_see_it_works_in_every_deferred_command(op: Operator) -> None:
    _dead_job(op)
    [seen] = op.ledger_lines()
    job_id = seen.split()[1]
    assert job_id == "compute-7:1"
    conf = ["--config-file", str(op.conf)]
    retried = op.cli("deferred", "retry", job_id, *conf, "--json")
    assert retried.returncode == 0, retried.stderr
    document = _strict(retried.stdout)
    assert document == {"schema": "nova-hookspec/deferred-action/1", "action": "retry",
                        "id": job_id, "count": 1, "refused": []}
    jsonschema.validate(document, json.loads((SCHEMAS / "deferred-action.schema.json")
                                             .read_text()))
    Path(f"{op.ledger}.fail").touch()
    op.cli("worker", "--drain", *conf, env={"NOVA_HOOKSPEC_MAX_ATTEMPTS": "1"})
    # docs/deferred.md: the attempt counts the runs since the job was written or retried.
    assert op.ledger_lines() == ["ran compute-7:1 1", "ran compute-7:1 1"]
    other_host = op.cli("deferred", "drop", "compute-8:1", *conf)
    assert (other_host.returncode, other_host.stdout.strip()) == (1, "no dead job compute-8:1")
    dropped = op.cli("deferred", "drop", job_id, *conf)
    assert (dropped.returncode, dropped.stdout.strip()) == (0, "1 dead job(s) dropped")
    listed = op.cli("deferred", "list", "--dead", *conf)
    assert listed.stdout.strip() == "no dead jobs"


def test_huge_and_unknown_ids_are_one_line(op: Operator) -> None:
    _dead_job(op)
    conf = ["--config-file", str(op.conf)]
    for command in ("retry", "drop"):
        for job_id in ("99999999999999999999999", "999"):
            done = op.cli("deferred", command, job_id, *conf)
            assert (done.returncode, done.stdout.strip()) == (1, f"no dead job {job_id}")
            assert "Traceback" not in done.stderr


def test_list_json_is_valid_json_for_a_job_due_in_infinity(op: Operator) -> None:
    _dead_job(op)
    import sqlite3
    from contextlib import closing

    # Retry(delay=float("inf")) in an older worker (closing: `with` alone only commits).
    with closing(sqlite3.connect(op.journal)) as db, db:
        db.execute("UPDATE jobs SET state = 'pending', due = ?", (float("inf"),))
    listed = op.cli("deferred", "list", "--json", "--config-file", str(op.conf))
    assert listed.returncode == 0, listed.stderr
    document = _strict(listed.stdout)
    assert isinstance(document, dict)
    [job] = document["jobs"]
    assert job["due_at"] is None


@pytest.mark.parametrize(("env", "args", "named"), [
    ({"NOVA_HOOKSPEC_MAX_ATTEMPTS": "lots"}, ["deferred", "status"],
     "setting max_attempts: NOVA_HOOKSPEC_MAX_ATTEMPTS='lots' is not a valid int"),
    ({"NOVA_HOOKSPEC_LEASE": "long"}, ["worker", "--drain"],
     "setting lease: NOVA_HOOKSPEC_LEASE='long' is not a valid float"),
    ({"NOVA_HOOKSPEC_JOURNAL": "{work}/garbage.sqlite"}, ["deferred", "list"],
     "the journal {work}/garbage.sqlite cannot be used: file is not a database"),
    ({"NOVA_HOOKSPEC_JOURNAL": "{work}/garbage.sqlite"}, ["worker", "--drain"],
     "the journal {work}/garbage.sqlite cannot be used: file is not a database"),
])
def test_a_wrong_setting_or_file_is_one_line(op: Operator, env: dict[str, str],
                                             args: list[str], named: str) -> None:
    (op.work / "garbage.sqlite").write_text("not a database, an older tool's file\n" * 200)
    done = op.cli(*args, env={k: v.format(work=op.work) for k, v in env.items()})
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        f"nova-hookspec {args[0]}: {named.format(work=op.work)}"]


def test_a_taken_metrics_port_is_one_line(op: Operator) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = op.cli("worker", "--drain", "--metrics-port", str(port), "--config-file",
                      str(op.conf))
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert (f"nova-hookspec worker: cannot serve metrics on 127.0.0.1 port {port}: "
            "Address already in use") in done.stderr.splitlines()


# ------------------------------------------------------------------ issue 30, items 1-4


def test_deferred_options_go_before_or_after_the_action(op: Operator) -> None:
    call = op.run("-c", "import acme_service", str(op.conf))
    assert "RETURNED" in call.stdout, call.stderr
    after = op.cli("deferred", "status", "--config-file", str(op.conf), "--json")
    before = op.cli("deferred", "--config-file", str(op.conf), "status", "--json")
    for done in (after, before):
        assert done.returncode == 0, done.stderr
        document = _strict(done.stdout)
        assert isinstance(document, dict)
        assert (document["journal"], document["pending"]) == (str(op.journal), 1)


BROKEN = {
    "misspelt": "from nova_hookspec import hookimpl\n\n@hookimpl\n"
                "def create_instanse_post(result):\n    pass\n",
    "raises": "raise RuntimeError('acme cannot import')\n",
}


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_list_says_a_refused_plugin_once_and_a_traceback_only_with_debug(
        op: Operator, site: Site, kind: str) -> None:
    site.add_dist(f"acme-{kind}", {"nova_hookspec": [f"{kind} = acme_{kind}"]},
                  {f"acme_{kind}": BROKEN[kind]})
    plain = op.cli("list")
    assert plain.returncode == 1
    assert "Traceback" not in plain.stderr
    lines = [line for line in plain.stderr.splitlines() if f"acme_{kind}" in line]
    assert len(lines) == 1
    assert lines[0].startswith(f"broken plugin acme-{kind}:acme_{kind}:")
    debug = op.cli("list", "--debug")
    own_code = kind == "raises"
    assert ("Traceback" in debug.stderr) is own_code  # only the plugin's own exception


def test_list_marks_deferred_observers(op: Operator) -> None:
    human = op.cli("list")
    assert "acme-inventory:acme_inventory:PLUGIN  [typed, deferred, acme-inventory 1.0" in (
        human.stdout)
    document = _strict(op.cli("list", "--json").stdout)
    assert isinstance(document, dict)
    marks = {(hook["hook"], step["plugin"]): step["deferred"] for hook in document["hooks"]
             for step in hook["order"]}
    assert marks[("create_instance_post", "acme-inventory:acme_inventory:PLUGIN")] is True


def test_configuration_warnings_are_said_once(op: Operator) -> None:
    with op.conf.open("a") as conf:
        conf.write("[nova_hookspec]\nbogus = 1\nbroker_lanes = many\n")
    # A malformed deferred setting is refused where the deferred settings are read (the
    # deferred commands, check), in one line naming the file; list does not read them.
    for args, refused in ((["deferred", "status"], True), (["check"], True),
                          (["list"], False)):
        done = op.cli(*args, "--config-file", str(op.conf))
        both = done.stdout + done.stderr
        assert both.count("unknown option 'bogus'") == 1, (args, both)
        assert both.count("option broker_lanes") == refused, (args, both)
        assert ("'many' is not a valid int" in both) == refused, (args, both)
        assert "keeping the default" not in both
        assert "LocationInfo" not in both


def test_status_into_a_closed_pipe_says_nothing(op: Operator) -> None:
    read, write = os.pipe()
    os.close(read)  # as `| head -1` once head has exited
    try:
        done = subprocess.run([sys.executable, "-m", "nova_hookspec", "deferred", "status"],
                              stdout=write, stderr=subprocess.PIPE, text=True, cwd=op.work,
                              env=op.env, timeout=120, check=False)
    finally:
        os.close(write)
    assert done.returncode == 0
    assert "Broken pipe" not in done.stderr
    assert "Traceback" not in done.stderr


def test_worker_json_logs_one_object_per_line(op: Operator) -> None:
    assert "RETURNED" in op.run("-c", "import acme_service", str(op.conf)).stdout
    done = op.cli("worker", "--drain", "--json", "--config-file", str(op.conf))
    assert done.returncode == 0, done.stderr
    lines = [_strict(line) for line in done.stderr.splitlines()]
    assert lines
    assert all(isinstance(line, dict) and {"time", "level", "logger", "message"}
                         <= set(line) for line in lines)
    assert any("done" in str(line["message"]) for line in lines if isinstance(line, dict))


def test_the_workers_retry_line_says_the_exception_once(op: Operator) -> None:
    Path(f"{op.ledger}.fail").touch()
    assert "RETURNED" in op.run("-c", "import acme_service", str(op.conf)).stdout
    done = op.cli("worker", "--drain", "--config-file", str(op.conf), env={
        "NOVA_HOOKSPEC_MAX_ATTEMPTS": "2", "NOVA_HOOKSPEC_RETRY_MIN_BACKOFF": "0.1",
        "NOVA_HOOKSPEC_RETRY_MAX_BACKOFF": "0.1"})
    assert done.returncode == 0, done.stderr
    lines = [line for line in (done.stdout + done.stderr).splitlines()
             if "deferred job compute-7:1 " in line]
    assert len(lines) == 2, lines
    retry, dead = lines
    assert retry.endswith("(acme-inventory:acme_inventory:PLUGIN, create_instance_post) "
                          "failed, attempt 1 of 2: ConnectionError: inventory unreachable; "
                          "again in 0.1 s")
    assert dead.endswith("is dead after 2 attempt(s): ConnectionError: inventory unreachable")
    assert all(line.count("inventory unreachable") == 1 for line in lines)
    assert op.ledger_lines() == ["ran compute-7:1 1", "ran compute-7:1 2"]

"""Run policies through real processes: time limits, what a plugin raises or calls,
refused settings, per-plugin values (issue 28, "What to build" 3 and 7).

The plugin is a real distribution; the worker is ``python -m nova_hookspec
worker``. A hung plugin hangs for real: a socket read, without timeout, from a
listening socket that answers only when the test says so. Every test ends
with a ledger check (what ran, how often, in which order).
"""

from __future__ import annotations

import json
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from sitehelper import Site
from test_deferred import Host

CALLS = '''
import os
import nova_hookspec
from nova_hookspec._nova.standins import Instance, RequestContext

@nova_hookspec.add_hook("create_instance")
def create(self, context, flavor, image_href, admin_password=None):
    return [Instance(hostname=image_href)], "r-" + image_href

made, _ = create(None, RequestContext(project_id="p-1"), "m1", os.environ["CALLS_NAMES"])
print("RETURNED", " ".join(i.uuid for i in made), flush=True)
'''

PLUGIN = '''
import os, socket, sys
import nova_hookspec
from nova_hookspec import Retry

def _ledger(line):
    with open(os.environ["LEDGER"], "a") as f:
        f.write(line + "\\n")

FAULTS = {
    "retry-str": lambda: Retry(delay="5"),
    "retry-inf": lambda: Retry(delay=float("inf")),
    "retry-neg": lambda: Retry(delay=-1),
    "retry-huge": lambda: Retry(delay=1e308),
    "interrupt": lambda: KeyboardInterrupt(),
}

class Faulty:
    @nova_hookspec.hookimpl(deferred=True)
    def create_instance_post(self, result, delivery):
        name = result[0][0].hostname
        attempt = delivery.attempt if delivery else 0
        _ledger(f"start {name} {attempt}")
        if name == "hang":
            conn = socket.create_connection(("127.0.0.1", int(os.environ["HANG_PORT"])))
            conn.recv(10)  # no timeout: waits until the test's server answers
            _ledger(f"late-return {name} {attempt}")
            return
        if attempt <= 1:  # the first run in the worker, or the run in the call (0)
            if name == "exit":
                sys.exit(3)
            if name in FAULTS:
                raise FAULTS[name]()
        if name == "fatal":
            raise nova_hookspec.FatalHookException("refused for good")
        _ledger(f"done {name} {attempt}")

FAULTY = Faulty()
'''


class Server:
    """A listening socket that accepts and never answers, until :meth:`answer`."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]

    def answer(self, count: int) -> None:
        for _ in range(count):
            conn, _addr = self.sock.accept()
            conn.sendall(b"late")
            conn.close()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def host(site: Site, tmp_path: Path) -> Iterator[Host]:
    site.add_dist("acme-faulty", {"nova_hookspec": ["faulty = acme_faulty:FAULTY"]},
                  {"acme_faulty": PLUGIN, "acme_calls": CALLS})
    made = Host(site, tmp_path)
    made.env["NOVA_HOOKSPEC_MAX_ATTEMPTS"] = "2"
    yield made
    made.close()


def ran(host: Host) -> list[str]:
    return [" ".join(line) for line in host.lines()]


def status(host: Host) -> dict[str, int]:
    """The journal's job counts and counters (``done``, ``retried``...)."""
    done = host.run("-m", "nova_hookspec", "deferred", "status", "--json")
    found = json.loads(done.stdout)
    counters = {row["what"]: row["count"] for row in found["counters"]}
    return {"pending": found["pending"], "running": found["running"], "dead": found["dead"],
            **counters}


def test_a_hung_plugin_fails_at_its_time_limit_and_its_lane_moves_on(
        host: Host, tmp_path: Path) -> None:
    server = Server()
    conf = tmp_path / "nova.conf"
    conf.write_text("[nova_hookspec:acme-faulty]\ntime_limit = 1\n")
    try:
        host.calls(1, CALLS_NAMES="hang")
        host.calls(1, CALLS_NAMES="after")
        worker = host.start("-m", "nova_hookspec", "worker", "--lanes", "1",
                            "--config-file", str(conf), env={"HANG_PORT": str(server.port)})
        # Both runs of the hung job fail at the operator's 1 s limit (max_attempts 2);
        # the one lane runs the next job all the same.
        host.wait_for(lambda: "done after 1" in ran(host), "the lane's next job ran", 60)
        host.wait_for(lambda: status(host)["dead"] == 1, "the hung job is dead", 60)
        log = (host.ledger.parent / "processes.log").read_text()
        assert "took longer than its time limit of 1 s" in log
        # The hung calls return now: what they did is thrown away.
        server.answer(2)
        host.wait_for(lambda: ran(host).count("late-return hang 1") == 1
                      and ran(host).count("late-return hang 2") == 1, "the late returns")
        host.wait_for(lambda: (host.ledger.parent / "processes.log").read_text().count(
            "returned after its time limit") == 2, "the worker saw the late returns")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0
    finally:
        server.close()
    after = status(host)
    assert (after["pending"], after["running"], after["dead"]) == (0, 0, 1)
    assert after["done"] == 1  # the next job only: no late return was recorded as done
    assert ran(host)[:3] == ["start hang 1", "start after 1", "done after 1"] or \
        ran(host)[:4] == ["start hang 1", "start hang 2", "start after 1", "done after 1"]
    listed = json.loads(host.run("-m", "nova_hookspec", "deferred", "list", "--dead",
                                 "--json").stdout)["jobs"]
    [dead] = listed
    assert [run["attempt"] for run in dead["history"]] == [1, 2]
    assert all("time limit of 1 s" in run["error"] for run in dead["history"])


@pytest.mark.parametrize("fault", ["retry-str", "retry-inf", "retry-neg", "exit", "interrupt"])
def test_nothing_a_plugin_raises_or_calls_ends_the_lane(host: Host, fault: str) -> None:
    host.calls(1, CALLS_NAMES=fault)
    host.calls(1, CALLS_NAMES="after")
    done = host.drain("--lanes", "1")
    assert done.returncode == 0
    assert "Traceback" not in done.stderr
    assert ran(host) == [f"start {fault} 1", "start after 1", "done after 1",
                         f"start {fault} 2", f"done {fault} 2"] or ran(host) == [
        f"start {fault} 1", f"start {fault} 2", f"done {fault} 2", "start after 1",
        "done after 1"]
    after = status(host)
    assert (after["pending"], after["running"], after["dead"]) == (0, 0, 0)
    assert (after["done"], after["retried"]) == (2, 1)
    if fault.startswith("retry-"):
        assert "is not a finite number of seconds, 0 or more: the backoff is used" in \
            done.stderr


def test_a_retry_delay_past_the_end_of_time_waits_retry_max_backoff_and_a_drain_ends(
        host: Host) -> None:
    """A hostile review: ``Retry(delay=1e308)`` was honoured: the job was due after the
    end of time and ``worker --drain`` never ended. It waits ``retry_max_backoff``."""
    host.calls(1, CALLS_NAMES="retry-huge")
    done = host.run("-m", "nova_hookspec", "worker", "--drain", timeout=120)
    assert done.returncode == 0, done.stderr
    assert ran(host) == ["start retry-huge 1", "start retry-huge 2", "done retry-huge 2"]
    after = status(host)
    assert (after["pending"], after["running"], after["dead"]) == (0, 0, 0)
    assert (after["done"], after["retried"]) == (1, 1)
    said = "Retry(delay=1e+308) is more than retry_max_backoff = 0.2 s: waits 0.2 s"
    assert said in done.stderr
    assert "again in 0.2 s" in done.stderr


@pytest.mark.parametrize(("name", "value", "said"), [
    ("LEASE", "0", "setting lease = 0.0 (environment variable NOVA_HOOKSPEC_LEASE) must "
                   "be at least 1"),
    # A hostile review: a lease of 1e-300 ended before each renewal, and one job ran 58
    # times at once in one worker.
    ("LEASE", "0.5", "setting lease = 0.5 (environment variable NOVA_HOOKSPEC_LEASE) must "
                     "be at least 1"),
    ("LEASE", "-1", "setting lease = -1.0"),
    ("MAX_ATTEMPTS", "0", "setting max_attempts = 0 (environment variable "
                          "NOVA_HOOKSPEC_MAX_ATTEMPTS) must be at least 1"),
    ("MAX_ATTEMPTS", "-3", "setting max_attempts = -3"),
    ("RETRY_MIN_BACKOFF", "-1", "setting retry_min_backoff = -1.0"),
    ("RETRY_MIN_BACKOFF", "5", "setting retry_min_backoff = 5.0 (environment variable "
                               "NOVA_HOOKSPEC_RETRY_MIN_BACKOFF) is more than "
                               "retry_max_backoff = 0.2"),
    ("TIME_LIMIT", "0", "setting time_limit = 0.0"),
    ("LEASE", "nan", "setting lease = nan (environment variable NOVA_HOOKSPEC_LEASE) is "
                     "not a finite number"),
    ("LEASE", "soon", "setting lease: NOVA_HOOKSPEC_LEASE='soon' is not a valid float"),
    # A hostile review: 1e10 passed, then every worker start ran the job and died on a
    # deadline past the platform's clocks.
    ("TIME_LIMIT", "1e10", "setting time_limit = 10000000000.0 (environment variable "
                           "NOVA_HOOKSPEC_TIME_LIMIT) must be at most 3.1536e+07"),
    ("LEASE", "1e300", "setting lease = 1e+300"),
])
def test_a_nonsense_setting_is_refused_in_one_line(host: Host, name: str, value: str,
                                                   said: str) -> None:
    env = {f"NOVA_HOOKSPEC_{name}": value}
    refused = host.run("-m", "nova_hookspec", "worker", "--drain", env=env)
    assert refused.returncode != 0
    assert said in refused.stderr
    assert "Traceback" not in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    # The hooked call with the same setting: it returns, and its observer runs in it.
    host.calls(1, CALLS_NAMES="after", **env)
    assert ran(host) == ["start after 0", "done after 0"]


def test_a_nonsense_value_in_nova_conf_names_the_file(host: Host, tmp_path: Path) -> None:
    conf = tmp_path / "nova.conf"
    conf.write_text("[nova_hookspec]\ntime_limit = soon\n")
    refused = host.run("-m", "nova_hookspec", "worker", "--drain", "--config-file", str(conf))
    assert refused.returncode != 0
    assert f"option time_limit [nova_hookspec] in {conf}: 'soon' is not a valid float" in \
        refused.stderr
    assert "Traceback" not in refused.stderr
    assert ran(host) == []


@pytest.mark.parametrize(("value", "rule"), [("-5", "-5.0 ({where}) must be more than 0"),
                                             ("1e10", "10000000000.0 ({where}) must be at "
                                                      "most 3.1536e+07")])
def test_a_plugins_nonsense_value_stops_the_worker_with_one_line(host: Host, tmp_path: Path,
                                                                 value: str, rule: str) -> None:
    conf = tmp_path / "nova.conf"
    conf.write_text(f"[nova_hookspec:acme-faulty]\ntime_limit = {value}\n")
    host.calls(1, CALLS_NAMES="after")
    refused = host.run("-m", "nova_hookspec", "worker", "--drain", "--config-file", str(conf))
    assert refused.returncode == 2
    said = refused.stdout + refused.stderr  # with --config-file, oslo.log may log to stdout
    where = f"[nova_hookspec:acme-faulty] in {conf}"
    assert f"setting time_limit = {rule.format(where=where)}" in said
    assert "Traceback" not in said
    assert ran(host) == []
    assert status(host)["pending"] == 1


def test_check_shows_each_plugins_policy_and_where_it_came_from(
        host: Host, site: Site, tmp_path: Path) -> None:
    site.add_dist("acme-marked", {"nova_hookspec": ["marked = acme_marked:MARKED"]}, {
        "acme_marked": "import nova_hookspec\n\nclass Marked:\n"
                       "    @nova_hookspec.hookimpl(deferred=True, max_attempts=3, "
                       "time_limit=30)\n"
                       "    def delete_instance_post(self, instance):\n        pass\n\n"
                       "MARKED = Marked()\n"})
    conf = tmp_path / "nova.conf"
    conf.write_text("[nova_hookspec:acme-marked]\ntime_limit = 60\n")
    checked = host.run("-m", "nova_hookspec", "check", "--json", "--config-file", str(conf))
    policies = {p["plugin"].split(":")[0]: p["policy"]
                for p in json.loads(checked.stdout)["deferred"]["plugins"]}
    env = "environment variable NOVA_HOOKSPEC_"
    assert policies["acme-marked"] == {
        "max_attempts": {"value": 3, "source": "@hookimpl of plugin "
                         "'acme-marked:acme_marked:MARKED', delete_instance_post"},
        "retry_min_backoff": {"value": 0.05, "source": env + "RETRY_MIN_BACKOFF"},
        "retry_max_backoff": {"value": 0.2, "source": env + "RETRY_MAX_BACKOFF"},
        "time_limit": {"value": 60.0, "source": f"[nova_hookspec:acme-marked] in {conf}"},
    }
    assert policies["acme-faulty"] == {
        "max_attempts": {"value": 2, "source": env + "MAX_ATTEMPTS"},
        "retry_min_backoff": {"value": 0.05, "source": env + "RETRY_MIN_BACKOFF"},
        "retry_max_backoff": {"value": 0.2, "source": env + "RETRY_MAX_BACKOFF"},
        "time_limit": {"value": 600.0, "source": "the default"},
    }
    text = host.run("-m", "nova_hookspec", "check", "--config-file", str(conf)).stdout
    assert f"time_limit 60 ([nova_hookspec:acme-marked] in {conf})" in text
    assert "max_attempts 3 (@hookimpl of plugin" in text
    assert ran(host) == []


@pytest.mark.parametrize("fault", ["fatal", "retry-str", "interrupt"])
def test_a_failing_observer_run_in_the_call_never_fails_the_nova_call(host: Host,
                                                                      fault: str) -> None:
    host.journal.parent.mkdir(parents=True)
    # A file where the spool folder should be: the job cannot be written.
    Path(f"{host.journal}.spool").write_text("not a folder")
    done = host.run("-c", "import acme_calls", env={"CALLS_NAMES": fault})
    if fault == "interrupt":  # not an Exception: it goes on up, as in any observer
        assert "KeyboardInterrupt" in done.stderr
        assert ran(host) == ["start interrupt 0"]
        return
    assert done.returncode == 0, done.stderr
    assert "RETURNED" in done.stdout
    assert "the deferred job could not be written" in done.stderr
    assert "it is not retried: the job is lost and the Nova call goes on" in done.stderr
    assert ran(host) == [f"start {fault} 0"]


@pytest.mark.parametrize("grace", ["inf", "nan", "1e300", "-1"])
def test_a_nonsense_grace_is_refused_in_one_line(host: Host, grace: str) -> None:
    refused = host.run("-m", "nova_hookspec", "worker", "--drain", "--grace", grace)
    assert refused.returncode != 0
    assert "--grace 0 to 3.1536e+07 seconds" in refused.stderr
    assert "Traceback" not in refused.stderr

"""Deferred jobs across hosts on the real RabbitMQ: three hosts make calls
(one API host, two compute hosts), each relays its own journal, two workers
run the jobs. Every test ends with the ledger check (:meth:`Cloud.check_ledger`).
"""

from __future__ import annotations

import json
import re
import signal
import time
from typing import Any

from cloud import Cloud
from conftest import Account, rabbitmqctl


def _three_hosts(cloud: Cloud) -> None:
    for host in ("api-1", "compute-1", "compute-2"):
        cloud.relay(host)


def _delete_on_computes(cloud: Cloud) -> None:
    cloud.delete("compute-1", lambda r: hash(r["uuid"]) % 2 == 0)
    cloud.delete("compute-2", lambda r: hash(r["uuid"]) % 2 == 1)


def test_jobs_of_three_hosts_run_once_each_and_in_order_with_two_workers(
        cloud: Cloud, account: Account) -> None:
    _three_hosts(cloud)
    cloud.worker()
    cloud.worker()
    cloud.settled()
    cloud.create("api-1", 20)
    cloud.create("api-1", 5, prefix="multi", per_call=3)  # multi-create: one job, 3 instances
    _delete_on_computes(cloud)
    cloud.all_done()
    repeats = cloud.check_ledger(duplicates_allowed=0)
    assert len(repeats) == 20 + 5 + 35  # creates (one per call) and deletes
    runners = {line[5] for line in cloud.lines() if line[0] == "done"}
    assert len(runners) == 2  # both workers ran jobs
    status = cloud.cli("api-1", "deferred", "status")
    assert "rabbit://127.0.0.1:5672/" in status.stdout
    cloud.check_no_secret(account.password, status.stdout, status.stderr)


def test_a_worker_killed_mid_job_leaves_its_lanes_to_the_other(cloud: Cloud) -> None:
    cloud.settings["create_wait"] = "0"
    _three_hosts(cloud)
    first = cloud.worker()
    cloud.create("api-1", 10)
    cloud.all_done()
    (cloud.gates / "block").touch()
    cloud.create("api-1", 10, prefix="late")
    cloud.wait_for(lambda: any(line[0] == "start" and line[2] not in cloud.done("create")
                               for line in cloud.lines()), "a job started")
    second = cloud.worker()
    cloud.kill(first)
    (cloud.gates / "block").unlink()
    _delete_on_computes(cloud)
    cloud.all_done()
    repeats = cloud.check_ledger(duplicates_allowed=2)  # the killed worker's running jobs
    pids = {line[5] for line in cloud.lines() if line[0] == "done"}
    assert str(second.pid) in pids
    assert sum(repeats.values()) >= 40


def test_a_broker_restart_with_jobs_queued_and_running_loses_none(cloud: Cloud) -> None:
    cloud.env["SLOW"] = "0.05"
    _three_hosts(cloud)
    cloud.worker()
    cloud.worker()
    cloud.create("api-1", 60)
    cloud.wait_for(lambda: len(cloud.done("create")) >= 5, "jobs running")
    # The premise: jobs are running when the broker stops. A job held at the gate
    # cannot finish until the gate goes.
    (cloud.gates / "block").touch()
    cloud.wait_for(lambda: any(line[0] == "blocked" for line in cloud.lines()),
                   "a job held at the gate")
    rabbitmqctl("stop_app")
    held = {line[3] for line in cloud.lines() if line[0] == "blocked"}
    assert held <= cloud.running()  # still running as the broker went away
    try:
        _delete_on_computes(cloud)  # the calls go on while the broker is away
    finally:
        time.sleep(2)
        rabbitmqctl("start_app")
        (cloud.gates / "block").unlink()
    cloud.all_done()
    cloud.check_ledger(duplicates_allowed=4)  # at most one running job per runner


def test_a_stopped_api_relay_holds_the_deletes_until_their_creates_ran(cloud: Cloud) -> None:
    _three_hosts(cloud)
    cloud.worker()
    cloud.worker()
    api_relay = cloud.relays["api-1"]
    api_relay.send_signal(signal.SIGSTOP)
    cloud.create("api-1", 10)
    _delete_on_computes(cloud)  # relayed at once by the compute hosts
    time.sleep(30)
    assert cloud.done("delete") == set()  # every delete waits for its create
    status = json.loads(cloud.cli("api-1", "deferred", "status", "--json").stdout)
    assert status["outbox"] == 10
    api_relay.send_signal(signal.SIGCONT)
    cloud.all_done()
    cloud.check_ledger()
    log = (cloud.root / "processes.log").read_text()  # the waits and outcomes are logged
    waited = set(re.findall(r"deferred job (\S+) \(\S+, delete_instance_post\) waits for "
                            r"its instance's create", log))
    assert waited == {line[3] for line in cloud.lines() if line[:2] == ["done", "delete"]}
    assert log.count("(acme-ledger:acme_ledger:LEDGER, create_instance_post) done, attempt 1"
                     ) == 10


def test_more_waiting_deletes_than_a_runner_took_at_once_do_not_hide_their_creates(
        cloud: Cloud) -> None:
    """One lane, 150 deletes relayed before their creates (the API host's relay a few
    seconds behind): the runner takes more of the lane than the deletes that wait
    (:data:`~nova_hookspec.deferred.brokers.rabbit.PREFETCH`), so the creates behind
    them reach it and run first; none waits out ``create_wait``, none is dropped.

    ``create_wait`` counts from each create's call, and the calls, the relaying
    and the 300 runs take tens of seconds on a loaded machine: the bound stays the
    cloud's 600 s, and every job must be done long before it (180 s)."""
    cloud.settings["broker_lanes"] = "1"
    cloud.relay("api-1")
    cloud.relay("compute-1")
    cloud.worker(1)
    api_relay = cloud.relays["api-1"]
    api_relay.send_signal(signal.SIGSTOP)
    cloud.create("api-1", 150)
    cloud.delete("compute-1")
    log = cloud.root / "processes.log"
    cloud.wait_for(lambda: log.read_text().count("waits for its instance's create") >= 64,
                   "the deletes wait for their creates")
    api_relay.send_signal(signal.SIGCONT)
    cloud.all_done()  # long before create_wait: no delete ran on its bound
    cloud.check_ledger(duplicates_allowed=0)
    assert "not run: the delete of its instance(s) finished" not in log.read_text()
    assert len(cloud.done("create")) == len(cloud.done("delete")) == 150


def test_with_the_broker_unreachable_the_calls_only_write_to_their_outbox(cloud: Cloud) -> None:
    _three_hosts(cloud)
    cloud.worker()
    cloud.worker()
    rabbitmqctl("stop_app")
    try:
        made = cloud.create("api-1", 20)
        deleted = cloud.delete("compute-1")
        checked = cloud.cli("api-1", "check", "--json")
    finally:
        status = json.loads(cloud.cli("api-1", "deferred", "status", "--json").stdout or "{}")
        rabbitmqctl("start_app")
    assert checked.returncode == 1
    broker = json.loads(checked.stdout)["deferred"]["broker"]
    assert broker["reachable"] is False
    assert "connection refused at 127.0.0.1:5672" in broker["problem"]
    assert made["made"] == 20
    assert deleted["deleted"] == 20
    assert not made["kombu"]
    assert not deleted["kombu"]
    assert json.loads(checked.stdout)["deferred"]["pending"] == 20  # the API host's outbox
    assert status == {} or status["outbox"] == 20  # status says nothing, or exactly that
    drained = cloud.cli("api-1", "worker", "--relay-only", "--drain")  # for upgrades
    assert drained.returncode == 0, drained.stderr
    after = json.loads(cloud.cli("api-1", "deferred", "status", "--json").stdout)
    assert after["outbox"] == 0
    cloud.all_done()
    cloud.check_ledger()


def test_a_job_that_always_fails_ends_in_the_dead_letters_with_its_history(
        cloud: Cloud, account: Account) -> None:
    (cloud.gates / "doom").touch()
    _three_hosts(cloud)
    cloud.worker()
    cloud.worker()
    cloud.create("api-1", 2, prefix="doomed")
    cloud.create("api-1", 3)
    cloud.wait_for(lambda: len(cloud.done("create")) == 3, "the others ran")
    listed: list[dict[str, Any]] = []

    def dead() -> bool:
        listed[:] = json.loads(cloud.cli("worker", "deferred", "list", "--dead", "--json")
                               .stdout)["jobs"]
        return len(listed) == 2

    cloud.wait_for(dead, "two dead letters")
    for job in listed:
        assert job["hook"] == "create_instance_post"
        assert job["plugin"].endswith("acme_ledger:LEDGER")
        assert [h["attempt"] for h in job["history"]] == [1, 2, 3]
        assert "inventory refuses doomed-" in job["history"][-1]["error"]
        assert str(job["id"]).startswith("api-1:")
    status = json.loads(cloud.cli("worker", "deferred", "status", "--json").stdout)
    assert status["broker"]["dead"] == 2
    checked = cloud.cli("worker", "check", "--json")
    assert checked.returncode == 1  # dead jobs are a problem to see
    assert json.loads(checked.stdout)["deferred"]["broker"]["dead"] == 2
    (cloud.gates / "doom").unlink()
    kept, dropped = listed
    retried = cloud.cli("worker", "deferred", "retry", str(kept["id"]))
    assert retried.returncode == 0, retried.stderr
    assert cloud.cli("worker", "deferred", "drop", str(dropped["id"])).returncode == 0
    assert cloud.cli("worker", "deferred", "drop", str(dropped["id"])).returncode == 1  # gone
    dropped_host = dropped["history"][-1]["error"].split()[-1]  # "... refuses doomed-N"
    dropped_uuid = {r["uuid"] for r in cloud.records() if r["hostname"] == dropped_host}
    assert len(dropped_uuid) == 1
    cloud.instances.write_text("".join(json.dumps(r) + "\n" for r in cloud.records()
                                       if r["uuid"] not in dropped_uuid))
    _delete_on_computes(cloud)  # the retried create runs before its delete
    cloud.all_done()
    cloud.check_ledger()
    assert not dropped_uuid & cloud.done("create")  # the dropped job never ran
    listing = cloud.cli("worker", "deferred", "list", "--dead")
    assert listing.stdout.strip() == "no dead jobs"
    cloud.check_no_secret(account.password, listing.stdout, listing.stderr)


def test_two_relays_of_one_journal_take_turns_and_publish_each_job_once(cloud: Cloud) -> None:
    first = cloud.relay("api-1")
    log = cloud.root / "processes.log"
    cloud.wait_for(lambda: log.exists() and " connected" in log.read_text(), "relay connected")
    second = cloud.start("-m", "nova_hookspec", "worker", "--relay-only", "--config-file",
                         str(cloud.conf("api-1")))
    cloud.wait_for(lambda: "standing by" in log.read_text(), "the second relay stands by")
    cloud.worker()
    cloud.create("api-1", 30)
    cloud.all_done()
    cloud.check_ledger()  # published once each: no job ran twice
    cloud.kill(first)
    cloud.create("api-1", 10, prefix="later")  # the second relay takes over
    cloud.all_done()
    cloud.check_ledger()
    assert second.poll() is None


def test_sigterm_lets_the_running_job_finish_and_leaves_the_rest_to_the_other_worker(
        cloud: Cloud) -> None:
    _three_hosts(cloud)
    first = cloud.worker()
    cloud.settled()
    (cloud.gates / "block").touch()
    cloud.create("api-1", 10)
    cloud.wait_for(lambda: any(line[0] == "start" for line in cloud.lines()), "a job started")
    assert {line[5] for line in cloud.lines() if line[0] == "start"} == {str(first.pid)}
    cloud.worker()
    first.send_signal(signal.SIGTERM)
    time.sleep(1)
    assert first.poll() is None  # it waits for its running job (grace: 30 s)
    (cloud.gates / "block").unlink()
    assert first.wait(timeout=60) == 0
    # The first worker finished every job it had started before it exited: each start
    # line with its pid has a done line with its pid.
    lines = cloud.lines()
    started = [line for line in lines if line[0] == "start" and line[5] == str(first.pid)]
    assert started
    assert all(["done", *line[1:]] in lines for line in started), lines
    _delete_on_computes(cloud)
    cloud.all_done()
    cloud.check_ledger()  # the job running at SIGTERM ran once: it finished, was acked

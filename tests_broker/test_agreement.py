"""Hosts that disagree, what is held, the lane of an instance (issue 29), on the real
RabbitMQ with real relays and workers: a relay with another ``broker_lanes`` than the
workers refuses to start and ``check`` names both values; jobs of a plugin no worker
runs show in ``deferred status``/``list`` and fail ``check``; jobs a lane runner holds
(a delete waiting for its create, a retry in place) are listed with why and since
when; a delete of an instance whose ``reservation_id`` is empty goes to its create's
lane. Every test ends with the ledger check (:meth:`Cloud.check_ledger`).
"""

from __future__ import annotations

import json
import time
from typing import Any

from cloud import Cloud
from conftest import Account

PLUGIN = "acme-ledger:acme_ledger:LEDGER"


def _status(cloud: Cloud, host: str) -> dict[str, Any]:
    done = cloud.cli(host, "deferred", "status", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def _listed(cloud: Cloud, host: str) -> list[dict[str, Any]]:
    done = cloud.cli(host, "deferred", "list", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["jobs"]  # type: ignore[no-any-return]


def _workers_said(cloud: Cloud, host: str) -> bool:
    """A worker's presence record is on the broker (said every 2 s)."""
    return any("worker" in p["roles"] for p in _status(cloud, host)["broker"]["processes"])


def _agree_and_run_the_three(cloud: Cloud) -> None:
    """api-2 set to the workers' broker_lanes and its relay started again: the three
    jobs its outbox held run, once each."""
    conf = cloud.conf("api-2")
    conf.write_text(conf.read_text().replace("broker_lanes = 12", "broker_lanes = 4"))
    cloud.relay("api-2")
    cloud.all_done()
    cloud.check_ledger()
    assert len([line for line in cloud.lines() if line[0] == "done"]) == 3

def test_a_relay_with_another_lane_count_refuses_to_start_and_check_names_both(
        cloud: Cloud, account: Account) -> None:
    cloud.worker()
    cloud.settled()
    cloud.wait_for(lambda: _workers_said(cloud, "worker"), "the worker said its settings")
    cloud.settings["broker_lanes"] = "12"
    cloud.conf("api-2")  # this host would relay to 12 lanes; the worker runs 4
    cloud.settings["broker_lanes"] = "4"
    said = "broker_lanes is 12 here (host api-2), but 4 on host worker (worker worker:"
    refused = cloud.cli("api-2", "worker", "--relay-only", "--drain")
    assert refused.returncode == 1
    said_by_it = refused.stdout + refused.stderr  # oslo.log's stream, from nova.conf
    assert said in said_by_it
    assert "not starting" in said_by_it
    cloud.create("api-2", 3)  # the calls go on: the jobs wait in api-2's outbox
    checked = cloud.cli("api-2", "check", "--json")
    assert checked.returncode == 1
    document = json.loads(checked.stdout)
    assert any(said in w for w in document["deferred"]["broker"]["disagreements"])
    assert any(said in w for w in document["warnings"])
    human = cloud.cli("api-2", "check")
    assert human.returncode == 1
    assert said in human.stdout
    agreeing = json.loads(cloud.cli("api-1", "check", "--json").stdout)
    assert agreeing["deferred"]["broker"]["disagreements"] == []
    assert json.loads(cloud.cli("api-2", "deferred", "status", "--json").stdout)["outbox"] == 3
    # Fixed: the same broker_lanes; the outbox's jobs run, once each.
    _agree_and_run_the_three(cloud)
    cloud.check_no_secret(account.password, said_by_it, checked.stdout, human.stdout)


def test_jobs_of_a_plugin_no_worker_runs_show_in_status_and_list_and_fail_check(
        cloud: Cloud) -> None:
    cloud.start("-m", "nova_hookspec", "worker", "--no-relay", "--config-file",
                str(cloud.conf("worker")), env={"NOVA_HOOKSPEC_DISABLE": "acme-ledger"})
    cloud.relay("api-1")
    cloud.create("api-1", 2)
    cloud.wait_for(lambda: _status(cloud, "api-1")["outbox"] == 0, "both jobs relayed")
    status = _status(cloud, "api-1")["broker"]
    assert status["unrun"] == [{"plugin": PLUGIN, "queued": 2}]
    text = cloud.cli("api-1", "deferred", "status")
    assert f"no worker runs plugin {PLUGIN}: 2 job(s) wait in its lanes" in text.stdout
    jobs = _listed(cloud, "api-1")
    assert [(j["state"], j["why"], j["hook"]) for j in jobs] == [
        ("ready", f"no worker runs plugin {PLUGIN}", "create_instance_post")] * 2
    assert sorted(j["id"] for j in jobs) == ["api-1:1", "api-1:2"]
    checked = cloud.cli("api-1", "check")
    assert checked.returncode == 1
    assert f"no worker runs plugin {PLUGIN}, deferred here (host api-1)" in checked.stdout
    assert cloud.lines() == []  # looking ran nothing and lost nothing
    cloud.worker()  # a worker that runs it: the jobs run, in the order they were made
    cloud.all_done()
    cloud.wait_for(lambda: _status(cloud, "api-1")["broker"]["unrun"] == [],
                   "no plugin without a worker")
    cloud.check_ledger()


def test_a_delete_waiting_for_its_create_and_a_retry_in_place_are_listed_with_why(
        cloud: Cloud) -> None:
    # Ten attempts 20 s apart: the doomed create stays held (retrying in place) for
    # minutes, however slowly the commands below run on a loaded machine.
    cloud.settings.update(retry_min_backoff="20", retry_max_backoff="20", max_attempts="10")
    begun = time.time()
    cloud.relay("compute-1")
    cloud.worker()
    cloud.settled()
    cloud.create("api-1", 1)  # api-1 relays nothing yet: its create waits in its outbox
    cloud.delete("compute-1")  # relayed at once: held, waiting for its create
    (cloud.gates / "doom").touch()
    cloud.create("compute-1", 1, prefix="doomed")  # fails, retried in place after 20 s
    found: dict[str, dict[str, Any]] = {}

    def both_held() -> bool:
        found.clear()
        found.update({j["why"]: j for j in _listed(cloud, "worker") if j["state"] == "held"})
        return {"waiting for its create", "retrying in place"} <= set(found)

    cloud.wait_for(both_held, "both jobs listed as held, with why")
    waiting, retrying = found["waiting for its create"], found["retrying in place"]
    assert waiting["hook"] == "delete_instance_post"
    assert waiting["id"] == "compute-1:1"
    assert retrying["hook"] == "create_instance_post"
    assert retrying["attempts"] >= 1  # 1, or 2 if a look came 20 s late
    assert len(retrying["history"]) == retrying["attempts"]
    assert "inventory refuses doomed-0" in retrying["history"][-1]["error"]
    assert retrying["due_at"] > retrying["since"]
    for job in (waiting, retrying):
        assert begun <= job["since"] <= time.time()
        assert job["worker"].startswith("worker:")
    status = _status(cloud, "worker")["broker"]
    assert status["held"] >= 2
    assert status["held_why"]["waiting for its create"] == 1
    text = cloud.cli("worker", "deferred", "status").stdout
    assert "held, waiting for its create: 1" in text
    assert "held, retrying in place: 1" in text
    listed = cloud.cli("worker", "deferred", "list").stdout
    assert "held     " in listed
    assert "waiting for its create since " in listed
    (cloud.gates / "doom").unlink()
    cloud.relay("api-1")  # the create comes: it runs, then the delete
    cloud.all_done()
    cloud.check_ledger()
    log = (cloud.root / "processes.log").read_text()
    assert "deferred job compute-1:1 (acme-ledger:acme_ledger:LEDGER, delete_instance_post) " \
           "waits for its instance's create" in log
    assert any("failed, attempt 1 of 10: " in line and "inventory refuses doomed-0" in line
               and "holding its instance's later jobs" in line for line in log.splitlines())


def test_deletes_of_instances_with_an_empty_reservation_id_go_to_their_creates_lanes(
        cloud: Cloud) -> None:
    for host in ("api-1", "compute-1"):
        cloud.relay(host)
    cloud.worker()
    cloud.worker()
    cloud.settled()
    cloud.create("api-1", 6)
    cloud.create("api-1", 2, prefix="multi", per_call=3)  # one job each for 3 instances
    uuids = {r["uuid"] for r in cloud.records()}
    cloud.wait_for(lambda: cloud.done("create") >= uuids, "every create done")
    cloud.instances.write_text("".join(json.dumps({**r, "reservation_id": ""}) + "\n"
                                       for r in cloud.records()))
    cloud.delete("compute-1")
    # create_wait is 600 s: a delete in another lane than its create would wait it out.
    cloud.all_done(seconds=120)
    cloud.check_ledger()


def test_a_relay_started_before_the_workers_holds_its_jobs_once_a_worker_disagrees(
        cloud: Cloud) -> None:
    cloud.settings["broker_lanes"] = "12"
    cloud.conf("api-2")  # relays to 12 lanes; started before any worker: nothing to compare
    cloud.settings["broker_lanes"] = "4"
    relay = cloud.relay("api-2")
    log = cloud.root / "processes.log"
    cloud.wait_for(lambda: "journal.sqlite to rabbit://" in log.read_text(),
                   "the relay connected, no worker on the broker yet")
    cloud.worker()
    said = ("broker_lanes is 12 here (host api-2), but 4 on host worker (worker worker:")
    held = "the jobs wait in this host's outbox until the settings agree"
    cloud.wait_for(lambda: any(said in line and held in line
                               for line in log.read_text().splitlines()),
                   "the running relay found the worker's value (a look every 30 s)", 120)
    cloud.create("api-2", 3)

    def collected() -> bool:  # the relay went round: collected, and kept them
        status = _status(cloud, "api-2")
        return status["spooled"] == 0 and status["pending"] == 3

    cloud.wait_for(collected, "the relay collected the jobs")
    status = _status(cloud, "api-2")
    assert status["outbox"] == 3
    assert status["broker"]["queued"] == 0
    assert cloud.lines() == []
    assert cloud.cli("api-2", "check").returncode == 1
    cloud.kill(relay)  # fixed: the same broker_lanes; its jobs go to the workers' lanes
    _agree_and_run_the_three(cloud)

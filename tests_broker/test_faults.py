"""The faults an operator's cloud meets (issue 29), on the real RabbitMQ: a
poison message in a lane, a worker stopped (SIGSTOP) while it holds lanes.
Every test ends with the ledger check (:meth:`Cloud.check_ledger`).
"""

from __future__ import annotations

import base64
import json
import re
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from cloud import Cloud
from conftest import Account


def _publish_raw(account: Account, queue: str, body: bytes) -> None:
    """Publish ``body`` as is to ``queue`` (by the default exchange), as any client
    with the virtual host's permissions can."""
    import amqp

    conn = amqp.Connection("127.0.0.1:5672", userid=account.user, password=account.password,
                           virtual_host=account.vhost)
    conn.connect()
    try:
        channel = conn.channel()
        channel.confirm_select()
        channel.basic_publish(amqp.Message(body, delivery_mode=2), exchange="",
                              routing_key=queue)
    finally:
        conn.close()


def _lanes(cloud: Cloud) -> list[dict[str, Any]]:
    status = json.loads(cloud.cli("worker", "deferred", "status", "--json").stdout)
    return status["broker"]["lanes"]  # type: ignore[no-any-return]


POISON = [b"\xff\xfe\x00 not text", b'{"id": 7, "plugin": "x"}', b"[1, 2, 3]",
          b"[" * 5000 + b"]" * 5000]  # deeper than json's parser recurses


def test_poison_messages_in_three_lanes_go_to_the_dead_letters_and_the_lanes_go_on(
        cloud: Cloud, account: Account) -> None:
    for host in ("api-1", "compute-1"):
        cloud.relay(host)
    cloud.worker()
    cloud.worker()
    cloud.settled()
    cloud.create("api-1", 5)
    lanes = [lane["queue"] for lane in _lanes(cloud)]
    for queue, body in zip(lanes, POISON):
        _publish_raw(account, queue, body)
    cloud.create("api-1", 15, prefix="after")
    cloud.delete("compute-1")
    cloud.all_done(seconds=120)
    cloud.check_ledger()
    listed = json.loads(cloud.cli("worker", "deferred", "list", "--dead", "--json")
                        .stdout)["jobs"]
    assert len(listed) == len(POISON)
    errors = sorted(job["history"][-1]["error"] for job in listed)
    assert [e.split(": ")[0] for e in errors] == ["unreadable message in " + q
                                                  for q in sorted(lanes[:len(POISON)])]
    reasons = " ".join(errors)
    for reason in ("not UTF-8", "a JSON list", "field 'id' is a int", "nested too deep"):
        assert reason in reasons

    assert all(job["id"].startswith("unreadable:") for job in listed)
    with __import__("amqp").Connection("127.0.0.1:5672", userid=account.user,
                                       password=account.password,
                                       virtual_host=account.vhost) as conn:
        channel = conn.channel()
        bodies = set()
        while True:
            got = channel.basic_get("nova_hookspec.dead", no_ack=False)
            if got is None:
                break
            bodies.add(base64.b64decode(json.loads(got.body)["raw"]))
    from nova_hookspec.deferred.unreadable import RAW_KEPT

    assert bodies == {body[:RAW_KEPT] for body in POISON}  # the raw bytes, bounded
    log = (cloud.root / "processes.log").read_text()
    assert "lost the broker" not in log  # no reconnect loop
    for queue in lanes[:len(POISON)]:
        assert f"unreadable message in {queue}" in log
    status = json.loads(cloud.cli("worker", "deferred", "status", "--json").stdout)
    assert status["broker"]["dead"] == len(POISON)
    assert status["broker"]["queued"] == 0
    assert cloud.cli("worker", "deferred", "drop", listed[0]["id"]).returncode == 0


def _check_no_overlap(cloud: Cloud, fenced: set[tuple[str, str]]) -> None:
    """No run of a lane starts while another run of that lane is open, except the
    ``fenced`` runs (job id, pid): the stopped holder's, whose outcomes are not recorded."""
    lane_of = cloud.lane_of()
    open_runs: dict[int, set[tuple[str, str]]] = {}
    for line in cloud.lines():
        run = (line[3], line[5])
        if run in fenced:
            continue
        runs = open_runs.setdefault(lane_of[line[2]], set())
        if line[0] == "start":
            assert not runs - {run}, f"lane {lane_of[line[2]]}: {run} overlaps {runs}"
            runs.add(run)
        else:
            runs.discard(run)


@pytest.mark.parametrize(("broker_lanes", "runners"), [("8", 4), ("2", 2)],
                         ids=["docs-sizing-8-lanes-2x4-runners", "spare-runners-2-lanes-2x2"])
def test_a_stopped_worker_loses_its_lanes_and_its_run_records_nothing(
        cloud: Cloud, broker_lanes: str, runners: int) -> None:
    cloud.settings["broker_lanes"] = broker_lanes
    for host in ("api-1", "compute-1", "compute-2"):
        cloud.relay(host)
    cloud.worker(lanes=runners)
    cloud.worker(lanes=runners)
    if runners * 2 <= int(broker_lanes):
        cloud.settled()  # no runner to spare: every worker holds lanes
    else:  # some runners stand by: wait until every lane is held by someone
        log = cloud.root / "processes.log"
        cloud.wait_for(lambda: all(re.search(rf" took \S+\.{k}\b", log.read_text())
                                   for k in range(int(broker_lanes))), "every lane taken")
    (cloud.gates / "block").touch()
    cloud.create("api-1", 12)
    # Stopped once the first job of every lane with instances waits at the gate: each
    # run of the victim is then inside its plugin, with a "start" line in the ledger
    # (a stop between a run's hand-over and its plugin's first line is the StartGate's
    # case: tests/test_lane_pool.py).
    lane_of = cloud.lane_of()
    lanes = {lane_of[r["uuid"]] for r in cloud.records()}
    cloud.wait_for(lambda: {lane_of[line[2]] for line in cloud.lines()
                            if line[0] == "blocked"} >= lanes, "every lane's job at the gate")
    first = next(line for line in cloud.lines() if line[0] == "start")
    pid = first[5]
    victim = next(w for w in cloud.workers if str(w.pid) == pid)
    victim.send_signal(signal.SIGSTOP)  # mid-job, holding its lanes and roll-call places
    cloud.wait_for(lambda: _stopped(victim.pid), "the worker stopped")
    (cloud.gates / "block").unlink()
    started = [line for line in cloud.lines() if line[5] == pid]
    fenced = {(line[3], pid) for line in started if line[0] == "start"} - {
        (line[3], pid) for line in started if line[0] == "done"}
    held = {line[2] for line in started if (line[3], pid) in fenced}
    cloud.delete("compute-1", lambda r: hash(r["uuid"]) % 2 == 0)
    cloud.delete("compute-2", lambda r: hash(r["uuid"]) % 2 == 1)
    cloud.all_done()  # while the victim is still stopped: its lanes moved
    assert victim.poll() is None
    assert _stopped(victim.pid)
    assert held <= {line[2] for line in cloud.lines() if line[0] == "done" and line[5] != pid}
    cloud.check_ledger()  # each job done once: the stopped runs have not ended
    log = cloud.root / "processes.log"
    victim.send_signal(signal.SIGCONT)  # its plugin's calls go on, their outcomes must not
    # One line per fenced run, once its plugin returned (the runner's own "lost its
    # connection" line may come before them).
    cloud.wait_for(lambda: sum(f":{pid}/" in line and "is not recorded, its lane's next "
                               "holder runs it" in line
                               for line in log.read_text().splitlines()) >= len(fenced),
                   "the resumed worker saw its lanes go")
    # Their start and end (a "blocked" line only says a run waited at the test's gate).
    tails = [line for line in cloud.lines() if (line[3], line[5]) in fenced
             and line[0] != "blocked"]
    assert sorted(line[0] for line in tails) == sorted(["start", "done"] * len(fenced))
    status = json.loads(cloud.cli("worker", "deferred", "status", "--json").stdout)
    assert status["broker"]["queued"] == 0
    assert status["broker"]["dead"] == 0
    cloud.create("api-1", 6, prefix="after")  # the lanes go on, the victim among them
    cloud.delete("compute-2", lambda r: r["hostname"].startswith("after"))
    cloud.all_done()
    repeats = cloud.check_ledger(duplicates_allowed=len(fenced), fenced=fenced)
    assert sum(repeats.values()) == 12 + 12 + 6 + 6
    _check_no_overlap(cloud, fenced)


def test_a_worker_stopped_again_as_it_fences_starts_nothing_it_held(cloud: Cloud) -> None:
    """A hostile review: a retry waited out its backoff in a worker's memory while the
    worker was stopped for 4 s (its lane kept); on resuming it fenced, and a second stop
    landed just after the broker answered (a VM frozen twice). Its lane moved, the other
    worker ran the create and the delete; resumed again, the worker started the create
    after the delete had finished (its loop measured the next stall from after the
    second stop). It starts nothing: the run it hands over is held at the gate, and not
    started once the connection is found gone."""
    cloud.settings.update(broker_lanes="1", retry_min_backoff="2", retry_max_backoff="2")
    log = cloud.root / "processes.log"
    cloud.relay("api-1")
    cloud.relay("compute-1")
    victim = cloud.worker(1, env={"STOP_AFTER_FENCE": "1"})
    cloud.settled()  # the victim holds the one lane
    spare = cloud.worker(1)  # stands by
    cloud.wait_for(lambda: f"{spare.pid} INFO nova_hookspec.worker" in log.read_text(),
                   "the spare worker up")
    (cloud.gates / "doom").touch()
    cloud.create("api-1", 1, prefix="doomed")
    uuid = cloud.records()[0]["uuid"]
    cloud.wait_for(lambda: "api-1:1 (acme-ledger:acme_ledger:LEDGER, create_instance_post) "
                   "failed, attempt 1" in log.read_text(), "the first attempt failed")
    victim.send_signal(signal.SIGSTOP)  # 4 s: the lane stays, the backoff runs out
    cloud.wait_for(lambda: _stopped(victim.pid), "the worker stopped")
    time.sleep(4)
    (cloud.gates / "stop-after-fence").touch()
    victim.send_signal(signal.SIGCONT)  # it fences, and stops again just after
    cloud.wait_for(lambda: ["self-stop", "-", "-", "-", "-", str(victim.pid)] in cloud.lines()
                   and _stopped(victim.pid), "the second stop")
    (cloud.gates / "doom").unlink()
    cloud.delete("compute-1")
    cloud.all_done()  # the spare took the lane: the create, then the delete
    victim.send_signal(signal.SIGCONT)
    said = (f":{victim.pid}/0 lost its connection before deferred job api-1:1 started: "
            "not started, its lane's next holder runs it")
    cloud.wait_for(lambda: said in log.read_text(), "the resumed worker said it")
    # The ledger: the victim's failed first attempt, then the spare's create and delete.
    runs = [(line[0], line[1], line[5]) for line in cloud.lines()
            if line[2] == uuid and line[0] in ("start", "done")]
    assert runs == [("start", "create", str(victim.pid)), ("start", "create", str(spare.pid)),
                    ("done", "create", str(spare.pid)), ("start", "delete", str(spare.pid)),
                    ("done", "delete", str(spare.pid))]
    cloud.check_ledger()


def _stopped(pid: int) -> bool:
    """Whether every thread of ``pid`` is stopped (a signal reaches a thread running on
    another core a little after ``kill`` returned)."""
    tasks = Path(f"/proc/{pid}/task")
    return all((task / "stat").read_text().rsplit(")", 1)[1].split()[0] == "T"
               for task in tasks.iterdir())


def test_a_host_with_more_lanes_than_the_workers_is_named_in_an_error(cloud: Cloud) -> None:
    cloud.settings["broker_lanes"] = "12"
    cloud.conf("api-1")  # this host relays to 12 lanes, the workers run 4
    cloud.settings["broker_lanes"] = "4"
    cloud.relay("api-1")
    cloud.create("api-1", 24)
    cloud.wait_for(lambda: json.loads(cloud.cli("api-1", "deferred", "status", "--json")
                                      .stdout)["outbox"] == 0, "the outbox relayed")
    cloud.worker()
    cloud.worker()
    from nova_hookspec.deferred.brokers.rabbit import lane_number

    beyond = [r["uuid"] for r in cloud.records() if lane_number(r["uuid"], 12) >= 4]
    within = {r["uuid"] for r in cloud.records()} - set(beyond)
    assert beyond
    log = cloud.root / "processes.log"
    said = ("broker_lanes is 4 here, but the broker has 12 lane queues of plugin "
            f"'acme-ledger:acme_ledger:LEDGER' (a host with broker_lanes = 12, or an earlier "
            f"setting): {len(beyond)} job(s) wait in lanes 4-11")
    cloud.wait_for(lambda: log.read_text().count(said) == 2, "each worker said it once")
    cloud.wait_for(lambda: cloud.done("create") >= within, "the jobs of lanes 0-3 done")
    # The ledger: the jobs of the lanes the workers run, once each; none of the others.
    done = [line for line in cloud.lines() if line[0] == "done"]
    assert sorted(line[2] for line in done) == sorted(cloud.done("create"))
    assert cloud.done("create") & set(beyond) == set()
    lines = [line for line in cloud.logged() if said in line]
    assert len(lines) == 2
    # Each worker's line names the live relay with the other value (its presence record).
    assert all(line.endswith("; relayed by api-1 (broker_lanes 12)") for line in lines), lines


def test_a_malformed_dead_letter_never_stops_the_dead_letter_commands(
        cloud: Cloud, account: Account) -> None:
    """A hostile review: one message in the dead letters that was not published there
    by a worker (not UTF-8, not JSON, not a dead letter's shape) made list, retry and
    drop crash with a traceback for every dead letter. It is listed as unreadable, can
    be dropped, is never retried, and the real dead letters stay reachable."""
    cloud.relay("api-1")
    cloud.worker()
    cloud.settled()
    cloud.cli("worker", "deferred", "status")  # the topology is declared
    for body in POISON:
        _publish_raw(account, "nova_hookspec.dead", body)
    listed = cloud.cli("worker", "deferred", "list", "--dead", "--json")
    assert listed.returncode == 0, listed.stderr
    assert "Traceback" not in listed.stderr
    jobs = json.loads(listed.stdout)["jobs"]
    assert len(jobs) == len(POISON)
    assert all(job["id"].startswith("unreadable:") for job in jobs)
    retried = cloud.cli("worker", "deferred", "retry", "--dead")
    assert "Traceback" not in retried.stderr
    assert retried.stdout.strip() == "no dead jobs"  # nothing in them to run
    for job in jobs:
        dropped = cloud.cli("worker", "deferred", "drop", job["id"])
        assert dropped.returncode == 0, dropped.stderr
    after = json.loads(cloud.cli("worker", "deferred", "list", "--dead", "--json").stdout)
    assert after["jobs"] == []

"""A relay's re-publish across hosts (issue 29), on the real RabbitMQ, with real
processes and signals: the API host's relay is SIGKILLed after the broker
confirmed its batch of creates and before the batch left its outbox, and comes
back once the deletes of those instances finished; meanwhile workers are
SIGKILLed and replaced, and the broker restarts. The lanes' records
(``nova_hookspec.deferred.lane_record``) must make every re-published create be
acknowledged without running. The test ends with the ledger check.

The pause between confirm and outbox update is the relay's test-only seam
(``nova_hookspec.deferred.relay.PAUSE_AFTER_CONFIRM``).
"""

from __future__ import annotations

import collections
import re
import signal
import subprocess

from cloud import Cloud
from conftest import Account, rabbitmqctl

from nova_hookspec.deferred.relay import PAUSE_AFTER_CONFIRM
from nova_hookspec.deferred.sharing import ACK_BATCH

CREATES = 30
PLUGIN = "acme-ledger:acme_ledger:LEDGER"


def _open_runs(cloud: Cloud, process: subprocess.Popen[str]) -> set[str]:
    """The jobs ``process`` had started and not finished (its start and done lines)."""
    runs: collections.Counter[str] = collections.Counter()
    for line in cloud.lines():
        if line[0] in ("start", "done") and line[5] == str(process.pid):
            runs[line[3]] += 1 if line[0] == "start" else -1
    return {job for job, n in runs.items() if n > 0}


def _kill_mid_run(cloud: Cloud, worker: subprocess.Popen[str]) -> set[str]:
    """SIGKILL ``worker`` once it has a job running; the jobs it ran (those that may
    run once more: the docs' bound for a killed worker is its runs open at the kill
    and its runs finished whose record the broker had not confirmed)."""
    cloud.wait_for(lambda: bool(_open_runs(cloud, worker)), f"a job running in {worker.pid}")
    cloud.kill(worker)
    return {line[3] for line in cloud.lines() if line[0] == "start"
            and line[5] == str(worker.pid)}


def _jobs_in_every_lane(cloud: Cloud) -> int:
    """Create instances until every lane has one, delete them, wait for all jobs; how
    many were made."""
    lanes = int(cloud.settings["broker_lanes"])
    made = 0
    while {cloud.lane_of()[r["uuid"]] for r in cloud.records()
           if r["hostname"].startswith("after")} != set(range(lanes)):
        made += cloud.create("api-1", 4, prefix=f"after{made}")["made"]
    cloud.delete("compute-2", lambda r: r["hostname"].startswith("after"))
    cloud.all_done()
    return made


def test_a_relay_killed_between_confirm_and_outbox_update_runs_no_create_again(
        cloud: Cloud) -> None:
    cloud.env["SLOW"] = "0.1"  # runs long enough to be killed in
    gate = cloud.root / "relay-pause"
    gate.touch()
    cloud.relay("compute-1")
    cloud.relay("compute-2")
    workers = [cloud.worker(), cloud.worker()]
    cloud.settled()
    cloud.create("api-1", CREATES)  # in the API host's outbox, its relay not started
    first = cloud.start("-m", "nova_hookspec", "worker", "--relay-only", "--config-file",
                        str(cloud.conf("api-1")), env={PAUSE_AFTER_CONFIRM: str(gate)})
    log = cloud.root / "processes.log"
    paused = re.compile(r"the broker confirmed (\d+) job\(s\), api-1:(\d+) to api-1:(\d+); "
                        r"paused before they leave the outbox")
    cloud.wait_for(lambda: paused.search(log.read_text()) is not None, "relay paused")
    found = paused.search(log.read_text())
    assert found is not None
    assert int(found.group(1)) == CREATES  # one batch: every create is re-published

    # While the creates run: a worker killed mid-job and replaced; then the relay killed.
    allowed = _kill_mid_run(cloud, workers[0])
    workers.append(cloud.worker())
    cloud.kill(first)
    cloud.wait_for(lambda: len(cloud.done("create")) == CREATES, "the creates done")
    cloud.delete("compute-1", lambda r: hash(r["uuid"]) % 2 == 0)
    cloud.delete("compute-2", lambda r: hash(r["uuid"]) % 2 == 1)
    allowed |= _kill_mid_run(cloud, workers[1])  # while the deletes run
    workers.append(cloud.worker())
    cloud.all_done()
    before = len(cloud.lines())

    # The broker restarts; meanwhile the API host's relay comes back (it waits for the
    # broker) and a worker is killed and replaced: no process remembers the creates.
    rabbitmqctl("stop_app")
    try:
        gate.unlink()
        cloud.relay("api-1")
        cloud.kill(workers[2])
        workers.append(cloud.worker())
    finally:
        rabbitmqctl("start_app")
    republished = {f"api-1:{n}" for n in range(int(found.group(2)), int(found.group(3)) + 1)}
    said = re.compile(r"deferred job (api-1:\d+) \(\S+, create_instance_post\) finished "
                      r"already on \S+ \(the lane's record\): acknowledged without running it")

    def handled() -> set[str]:  # acknowledged without running, or run again
        ran = {line[3] for line in cloud.lines()[before:] if line[0] == "start"}
        return set(said.findall(log.read_text())) | ran

    cloud.wait_for(lambda: republished <= handled(), "every re-published create handled",
                   seconds=120)

    after = _jobs_in_every_lane(cloud)  # behind the re-published ones: they run as usual

    # The ledger: nothing of the first creates ran after the re-publish; every job
    # done, each once but for jobs a killed worker ran, within the docs' bound (per
    # killed runner, its open run and ACK_BATCH runs not confirmed); per instance
    # every create before its delete.
    later = cloud.lines()[before:]
    assert not [line for line in later if line[3] in republished], later
    repeats = cloud.check_ledger(duplicates_allowed=2 * 2 * (1 + ACK_BATCH))
    again = {job for job, runs in repeats.items() if runs > 1}
    assert again <= allowed, (again, allowed)
    assert len(repeats) == 2 * CREATES + 2 * after
    assert republished <= set(said.findall(log.read_text()))


def _unsettled_in_lanes(account: Account) -> int:
    """The messages in the lane queues of ``account``'s virtual host, ready or unacked."""
    listed = rabbitmqctl("list_queues", "-q", "--no-table-headers", "-p", account.vhost,
                         "name", "messages")
    return sum(int(count) for name, count in (line.split() for line in listed.splitlines()
                                              if line.strip()) if ".lane." in name)


def test_the_next_holder_of_a_lane_compacts_its_record_which_the_broker_keeps_7_days(
        cloud: Cloud, account: Account) -> None:
    """Every finished job left a message in its lane's record; a worker that takes the
    lanes after a kill reads them all and leaves one message per hour, which the broker
    drops once its facts are past the retention."""
    cloud.relay("api-1")
    cloud.relay("compute-1")
    first = cloud.worker()
    cloud.create("api-1", 12)
    cloud.delete("compute-1")
    cloud.all_done()
    # Each job's record published and confirmed, the job acked (the plugin's "done" in
    # the ledger comes first): else a killed worker leaves a job to run again, without
    # its record message.
    cloud.wait_for(lambda: _unsettled_in_lanes(account) == 0, "every job acked")
    cloud.kill(first)
    # One lane runner: it takes the 4 lanes and keeps them. (Two runners may start out
    # of step, one take all 4 and give two back a second later: the other's read of
    # those lanes' records would then hold their messages while this test counts them.)
    second = cloud.worker(1)
    log = cloud.root / "processes.log"
    cloud.wait_for(lambda: len(re.findall(rf":{second.pid}/\d took ", log.read_text())) == 4,
                   "the second worker took the 4 lanes")  # each read and compacted first
    compacted = re.compile(r"compacted the record of \S+\.lane\.\S+\.(\d+): (\d+) message\(s\) "
                           r"into (\d+)")
    lanes = {str(lane) for lane in cloud.lane_of().values()}
    found = compacted.findall(log.read_text())
    assert {lane for lane, _read, _into in found} == lanes  # every lane with jobs
    assert sum(int(read) for _lane, read, _into in found) == 24  # a message per job
    assert all(int(into) in (1, 2) for _lane, _read, into in found)  # an hour, or two
    import amqp

    with amqp.Connection("127.0.0.1:5672", userid=account.user, password=account.password,
                         virtual_host=account.vhost) as conn:
        channel = conn.channel()
        kept = []
        for k in range(4):
            while True:
                got = channel.basic_get(f"nova_hookspec.receipts.{PLUGIN}.{k}")
                if got is None:
                    break
                kept.append(got)
    assert len(kept) == sum(int(into) for _lane, _read, into in found)
    day = 24 * 3600 * 1000
    assert all(7 * day <= int(m.properties["expiration"]) <= 7 * day + 2 * 3600 * 1000
               for m in kept)
    cloud.check_ledger()


def test_a_create_reaching_its_lane_after_its_delete_finished_never_runs(cloud: Cloud) -> None:
    """The API host's relay stopped for longer than ``create_wait``: the deletes ran
    without their creates; the creates, relayed later, are recorded and acked without
    running (a WARNING each), and the lanes go on."""
    cloud.settings["create_wait"] = "1"
    api = cloud.relay("api-1")
    cloud.relay("compute-1")
    cloud.worker()
    cloud.settled()
    api.send_signal(signal.SIGSTOP)
    cloud.create("api-1", 6)
    cloud.delete("compute-1")
    uuids = {r["uuid"] for r in cloud.records()}
    cloud.wait_for(lambda: cloud.done("delete") == uuids, "the deletes ran at their bound")
    api.send_signal(signal.SIGCONT)
    log = cloud.root / "processes.log"
    skipped = re.compile(r"deferred job (api-1:\d+) \(\S+, create_instance_post\) not run: the "
                         r"delete of its instance\(s\) finished on \S+ \(the lane's record\)")

    def handled() -> int:  # not run, or run (the previous code)
        return len(skipped.findall(log.read_text())) + len(cloud.done("create"))

    cloud.wait_for(lambda: handled() == 6, "the late creates handled")
    assert cloud.done("create") == set()
    cloud.create("api-1", 4, prefix="after")
    cloud.wait_for(lambda: len(cloud.done("create")) == 4, "the lanes go on")
    assert len([line for line in cloud.lines() if line[0] == "done"]) == 6 + 4

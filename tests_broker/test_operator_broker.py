"""The worker across hosts as an operator sees it (issue 30 item 4): lane runners
named after nova.conf's ``[DEFAULT] host``, a ``stopped`` line on SIGTERM, and
``deferred status`` with its options after the action on a worker host that has
no journal (it creates none)."""

from __future__ import annotations

import json
import signal

from cloud import Cloud


def test_runners_are_named_after_the_host_and_sigterm_says_stopped(cloud: Cloud) -> None:
    cloud.relay("api-1")
    worker = cloud.worker(lanes=1)
    cloud.settled()
    cloud.create("api-1", 2)
    cloud.all_done()
    log = cloud.root / "processes.log"
    assert f"lane runner worker:{worker.pid}/0 took " in log.read_text()
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=120) == 0
    assert f"nova_hookspec worker worker:{worker.pid} stopped" in log.read_text()
    status = cloud.run("-m", "nova_hookspec", "deferred", "status", "--config-file",
                       str(cloud.conf("lookout")), "--json")  # a host that never deferred
    assert status.returncode == 0, status.stderr
    document = json.loads(status.stdout)
    assert (document["pending"], document["broker"]["dead"]) == (0, 0)
    assert not (cloud.root / "lookout").exists()  # looked, created none
    cloud.check_ledger()


def test_sigterm_on_a_worker_with_no_deferred_plugin_waits_for_no_runner(cloud: Cloud) -> None:
    """A worker host where no deferred plugin is installed starts no lane runner, so
    SIGTERM has no running job to wait for. (It used to wait the whole grace period
    for the runners it never started, then say jobs were still running.) The jobs
    relayed meanwhile wait in their lanes for a worker that runs their plugin."""
    cloud.relay("api-1")
    log = cloud.root / "processes.log"
    bare = cloud.start("-m", "nova_hookspec", "worker", "--no-relay", "--config-file",
                       str(cloud.conf("worker")), env={"NOVA_HOOKSPEC_DISABLE_AUTOLOAD": "1"})
    cloud.wait_for(lambda: f"worker:{bare.pid}: broker" in log.read_text(),
                   "the worker with no plugin started")
    cloud.create("api-1", 2)
    bare.send_signal(signal.SIGTERM)
    assert bare.wait(timeout=120) == 0
    said = log.read_text()
    assert "no deferred plugin is installed here; this worker runs no job" in said
    assert f"nova_hookspec worker worker:{bare.pid} stopped" in said
    assert "jobs still running after the grace period" not in said
    assert not cloud.lines()  # it ran nothing
    cloud.worker()
    cloud.all_done()
    cloud.check_ledger()  # both jobs ran once, by the worker that runs their plugin

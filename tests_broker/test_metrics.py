"""The metrics across hosts (issue 29, issue 28 item 6): what the shipped alert
rules and dashboard use is exported by a host's relay and by a worker, and the
states come from the broker, so the dead-jobs alert fires across hosts.
"""

from __future__ import annotations

import signal

from cloud import Cloud
from metricshelper import exported, free_port, samples, scrape, used_names

PLUGIN = "acme-ledger:acme_ledger:LEDGER"
RUNS = 'nova_hookspec_deferred_runs_total{hook="create_instance_post",outcome="%s",plugin="%s"}'


def test_a_relay_and_a_worker_export_what_the_rules_use_with_the_brokers_states(
        cloud: Cloud) -> None:
    relay_port, worker_port = free_port(), free_port()
    relay = cloud.relay("api-1", "--metrics-port", str(relay_port))
    worker = cloud.worker(2, "--metrics-port", str(worker_port))
    cloud.settled()

    def worker_has(key: str, value: float) -> bool:
        return samples(scrape(worker_port)).get(key) == value

    # A job held by the worker's lane runner (its plugin blocks): held, and how old.
    (cloud.gates / "block").touch()
    cloud.create("api-1", 1)
    cloud.wait_for(lambda: any(line[0] == "start" for line in cloud.lines()), "a job started")
    cloud.wait_for(lambda: worker_has('nova_hookspec_deferred_queue_depth{state="held"}', 1.0),
                   "the worker holds the job")
    held = samples(scrape(worker_port))
    assert held["nova_hookspec_deferred_oldest_pending_age_seconds"] > 0
    (cloud.gates / "block").unlink()
    cloud.wait_for(lambda: worker_has(RUNS % ("done", PLUGIN), 1.0), "the job done")

    # Two jobs that always fail (max_attempts 3): the broker's dead letters.
    (cloud.gates / "doom").touch()
    cloud.create("api-1", 2, prefix="doomed")
    cloud.wait_for(lambda: worker_has('nova_hookspec_deferred_queue_depth{state="dead"}', 2.0),
                   "the worker reports the broker's two dead letters")
    # A runner counts a dead run once the broker confirmed its dead letter: a scrape
    # in between sees the letter and not yet the run (broker(ussuri) under load).
    cloud.wait_for(lambda: worker_has(RUNS % ("dead", PLUGIN), 2.0), "both dead runs counted")
    worker_text, relay_text = scrape(worker_port), scrape(relay_port)
    found, relayed = samples(worker_text), samples(relay_text)
    assert found[RUNS % ("retry", PLUGIN)] == 4.0  # two failed runs each before the third
    assert found[RUNS % ("dead", PLUGIN)] == 2.0
    assert found['nova_hookspec_deferred_queue_depth{state="ready"}'] == 0.0
    assert found['nova_hookspec_deferred_queue_depth{state="held"}'] == 0.0
    assert found["nova_hookspec_deferred_broker_up"] == 1.0
    assert found[f'nova_hookspec_deferred_unconsumed_jobs{{plugin="{PLUGIN}"}}'] == 0.0
    assert found['nova_hookspec_deferred_up{role="worker"}'] == 1.0
    assert 'nova_hookspec_deferred_up{role="relay"}' not in found  # --no-relay
    # The relay-only host: its outbox (relayed, empty), the broker's same dead letters.
    assert relayed['nova_hookspec_deferred_outbox_jobs{host="api-1"}'] == 0.0
    assert relayed['nova_hookspec_deferred_queue_depth{state="dead"}'] == 2.0
    assert relayed['nova_hookspec_deferred_up{role="relay"}'] == 1.0
    assert relayed['nova_hookspec_deferred_jobs_total{hook="create_instance_post",'
                   f'outcome="relayed",plugin="{PLUGIN}"}}'] == 3.0
    missing = used_names() - exported(worker_text) - exported(relay_text)
    assert not missing, f"used by deploy/ but exported by neither: {sorted(missing)}"

    for process in (relay, worker):
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    # Ledger: the blocked job ran once; the doomed ones ran three times each, never done.
    starts = [line for line in cloud.lines() if line[0] == "start"]
    assert len(starts) == 1 + 2 * 3
    assert len([line for line in cloud.lines() if line[0] == "done"]) == 1


def test_jobs_of_a_plugin_no_worker_runs_are_counted_until_a_worker_comes(cloud: Cloud) -> None:
    port = free_port()
    relay = cloud.relay("api-1", "--metrics-port", str(port))
    unconsumed = f'nova_hookspec_deferred_unconsumed_jobs{{plugin="{PLUGIN}"}}'
    cloud.create("api-1", 2)
    cloud.wait_for(lambda: samples(scrape(port)).get(unconsumed) == 2.0,
                   "two jobs relayed to lanes no worker runs")
    found = samples(scrape(port))
    assert found['nova_hookspec_deferred_outbox_jobs{host="api-1"}'] == 0.0  # relayed
    assert found['nova_hookspec_deferred_queue_depth{state="ready"}'] == 2.0
    cloud.worker()
    cloud.all_done()
    cloud.wait_for(lambda: samples(scrape(port)).get(unconsumed) == 0.0, "none left unconsumed")
    relay.send_signal(signal.SIGTERM)
    assert relay.wait(timeout=60) == 0
    cloud.check_ledger()  # both jobs ran once each

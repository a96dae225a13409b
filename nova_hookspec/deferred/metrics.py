"""Prometheus metrics of the deferred hooks, served by the worker when asked.

Why here and so: an operator's alert must fire whether one host runs its
jobs from its journal or many hosts share RabbitMQ, so every figure an
alert rule or the dashboard (``deploy/prometheus/``, ``deploy/grafana/``)
uses is exported in both modes, under the same name.

Off by default; ``nova-hookspec worker --metrics-port 9464`` serves them
(``--metrics-address``, default ``127.0.0.1``). Needs ``prometheus_client``
(the ``nova-hookspec[prometheus]`` extra); the worker refuses to start with
a clear error when it is missing.

Read from the journal at each scrape (they cover every process of the host
and survive a worker's restart):

* ``nova_hookspec_deferred_jobs_total{plugin, hook, outcome}``: jobs
  ``enqueued``, ``done``, ``retried`` (failed runs that will run again),
  ``dead``, and across hosts ``relayed`` (published to the broker, confirmed);
* one host: ``nova_hookspec_deferred_queue_depth{state}``, jobs ``pending``,
  ``running``, ``dead`` now, and
  ``nova_hookspec_deferred_oldest_pending_age_seconds``, how long the oldest
  unfinished job has waited;
* across hosts, where the worker relays: ``nova_hookspec_deferred_outbox_jobs{host}``
  and ``nova_hookspec_deferred_outbox_oldest_age_seconds{host}``, this host's
  jobs not yet on the broker.

Across hosts the states come from the broker, asked at each scrape, so that
every worker says the same: ``queue_depth{state="ready"}`` (in the lane
queues of the plugins this host knows) and ``queue_depth{state="dead"}``
(the dead letters); ``queue_depth{state="held"}`` is what this worker's lane
runners hold unacked (sum it over the workers), and the oldest pending age
is the older of the outbox's and of the jobs this worker holds.
``nova_hookspec_deferred_unconsumed_jobs{plugin}`` counts the jobs ready in
lanes no runner holds: jobs of a plugin no worker runs, or too few runners.
``nova_hookspec_deferred_broker_up`` is 0 when the broker did not answer
(the broker's states are then left out of that scrape).

Counted by this process (a histogram and a counter per run):

* ``nova_hookspec_deferred_runs_total{plugin, hook, outcome}``: runs that
  ended ``done``, ``retry`` (will run again), ``dead`` or ``timeout``;
* ``nova_hookspec_deferred_run_seconds{plugin, hook}``: their run times.

Liveness: ``nova_hookspec_deferred_up{role}`` (``worker``: its lanes run;
``relay``: it relays or stands by for another relay) and
``nova_hookspec_deferred_last_loop_timestamp_seconds{role}``, when the
role's loop last went round (a lane running one job does not loop).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, Callable

from nova_hookspec.deferred.brokers.journal import Journal
from nova_hookspec.deferred.jobs import Job

#: A worker calls it after each run: the job, the run's seconds and how it ended
#: (one of :data:`OUTCOMES`). typing.Callable: a runtime alias on 3.8.
Observe = Callable[[Job, float, str], None]

#: How a run ends: its plugin returned; it failed and runs again; it failed for the
#: last time; it ran past its time limit.
OUTCOMES = ("done", "retry", "dead", "timeout")

PREFIX = "nova_hookspec_deferred_"


class _Role:
    """A loop whose liveness is exported: whether it runs, when it last went round."""

    def __init__(self, alive: Callable[[], bool], last_loop: Callable[[], float]) -> None:
        self.alive = alive
        self.last_loop = last_loop


class Metrics:
    """What a worker process exports; :meth:`observe` is its :data:`Observe`."""

    def __init__(self, store: Journal) -> None:
        import prometheus_client

        self.store = store
        self.registry = prometheus_client.CollectorRegistry()
        self.roles: dict[str, _Role] = {}
        #: Across hosts: the broker's status (raises when it is away), and when each
        #: job this process's lane runners hold was enqueued.
        self.broker: Callable[[], dict[str, Any]] | None = None
        self.held: Callable[[], list[float]] = list
        #: Whether this process relays its host's journal (it is then an outbox).
        self.relaying = False
        self._runs = prometheus_client.Histogram(
            PREFIX + "run_seconds", "Run time of deferred jobs in this worker",
            ["plugin", "hook"], registry=self.registry,
            buckets=(0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300))
        self._outcomes = prometheus_client.Counter(
            PREFIX + "runs", "Runs of deferred jobs in this worker by how they ended",
            ["plugin", "hook", "outcome"], registry=self.registry)
        self.registry.register(_Collector(self))

    def observe(self, job: Job, seconds: float, outcome: str) -> None:
        """Record one run of ``job``: its time and how it ended (one of :data:`OUTCOMES`;
        called in the worker's lanes, so nothing here raises for a word it does not know)."""
        self._runs.labels(job.plugin, job.hook).observe(seconds)
        self._outcomes.labels(job.plugin, job.hook, outcome).inc()

    def watch(self, role: str, alive: Callable[[], bool], last_loop: Callable[[], float]) -> None:
        """Export the liveness of ``role`` (``worker`` or ``relay``)."""
        self.roles[role] = _Role(alive, last_loop)

    def across_hosts(self, broker: Callable[[], dict[str, Any]], relaying: bool,
                     held: Callable[[], list[float]] = list) -> None:
        """Take the states from the broker (``Rabbit.status`` of this host's plugins);
        ``held``: when each job this process's lane runners hold was enqueued."""
        self.broker = broker
        self.relaying = relaying
        self.held = held


class _Collector:
    """Reads the journal (and the broker) at each scrape."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        m = self.metrics
        status = m.store.status()
        jobs = CounterMetricFamily(PREFIX + "jobs", "Deferred jobs by plugin, hook and outcome",
                                   labels=["plugin", "hook", "outcome"])
        for row in status["counters"]:
            jobs.add_metric([row["plugin"], row["hook"], row["what"]], row["count"])
        yield jobs
        depth = GaugeMetricFamily(PREFIX + "queue_depth", "Deferred jobs by state",
                                  labels=["state"])
        oldest = GaugeMetricFamily(PREFIX + "oldest_pending_age_seconds",
                                   "Age of the oldest unfinished deferred job")
        if m.broker is None:
            for state in ("pending", "running", "dead"):
                depth.add_metric([state], status[state])
            oldest.add_metric([], status["oldest_pending_age"] or 0.0)
        else:
            yield from self._across_hosts(status, depth, oldest)
        yield depth
        yield oldest
        up = GaugeMetricFamily(PREFIX + "up", "Whether the role's loop runs", labels=["role"])
        last = GaugeMetricFamily(PREFIX + "last_loop_timestamp_seconds",
                                 "When the role's loop last went round", labels=["role"])
        for name, role in sorted(m.roles.items()):
            up.add_metric([name], 1.0 if role.alive() else 0.0)
            last.add_metric([name], role.last_loop())
        yield up
        yield last

    def _across_hosts(self, status: dict[str, Any], depth: Any, oldest: Any) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        m = self.metrics
        assert m.broker is not None
        now = time.time()
        held = m.held()
        depth.add_metric(["held"], len(held))
        ages = [now - since for since in held]
        if m.relaying:
            host = m.store.host
            outbox = GaugeMetricFamily(PREFIX + "outbox_jobs",
                                       "Jobs of this host not yet on the broker", labels=["host"])
            outbox.add_metric([host], status["pending"])
            yield outbox
            outbox_age = GaugeMetricFamily(PREFIX + "outbox_oldest_age_seconds",
                                           "Age of this host's oldest job not yet on the broker",
                                           labels=["host"])
            outbox_age.add_metric([host], status["oldest_pending_age"] or 0.0)
            yield outbox_age
            ages.append(status["oldest_pending_age"] or 0.0)
        try:
            found = m.broker()
        except Exception:  # noqa: BLE001 - the broker away: said by broker_up, not raised
            found = None
        yield GaugeMetricFamily(PREFIX + "broker_up", "Whether the broker answered this scrape",
                                value=0.0 if found is None else 1.0)
        if found is not None:
            depth.add_metric(["ready"], found["queued"])
            depth.add_metric(["dead"], found["dead"])
            unconsumed = GaugeMetricFamily(PREFIX + "unconsumed_jobs",
                                           "Jobs ready in lanes no runner holds",
                                           labels=["plugin"])
            for plugin in sorted({lane["plugin"] for lane in found["lanes"]}):
                unconsumed.add_metric([plugin], sum(
                    lane["ready"] for lane in found["lanes"]
                    if lane["plugin"] == plugin and not lane["consumers"]))
            yield unconsumed
        oldest.add_metric([], max(ages, default=0.0))


def serve(store: Journal, port: int, address: str = "127.0.0.1") -> Metrics:
    """Serve the metrics of ``store`` on ``address:port``; what records the runs.

    :raises ImportError: ``prometheus_client`` is not installed.
    """
    try:
        import prometheus_client
    except ImportError:
        raise ImportError("--metrics-port needs prometheus_client "
                          "(pip install 'nova-hookspec[prometheus]')") from None
    metrics = Metrics(store)
    prometheus_client.start_http_server(port, address, registry=metrics.registry)
    return metrics

"""Prometheus metrics of the deferred hooks, served by the worker when asked.

Off by default; ``nova-hookspec worker --metrics-port 9464`` serves them
(``--metrics-address``, default ``127.0.0.1``). Needs ``prometheus_client``
(the ``nova-hookspec[prometheus]`` extra); the worker refuses to start with
a clear error when it is missing.

The counts are read from the journal at each scrape, so they cover every
process of the host (the Nova services write the jobs, the worker runs
them) and survive a worker's restart:

* ``nova_hookspec_deferred_jobs_total{plugin, hook, outcome}``: jobs
  ``enqueued``, ``done``, ``retried`` (failed runs that will run again),
  ``dead``, and across hosts ``relayed`` (published to the broker, confirmed);
* ``nova_hookspec_deferred_queue_depth{state}``: jobs ``pending``,
  ``running``, ``dead`` now;
* ``nova_hookspec_deferred_oldest_pending_age_seconds``: how long the
  oldest unfinished job has waited;
* ``nova_hookspec_deferred_run_seconds{plugin, hook}``: a histogram of the
  runs of this worker (done or failed).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Callable

from nova_hookspec.deferred.brokers.journal import Journal
from nova_hookspec.deferred.jobs import Job

#: A worker calls it after each run: the job and the run's seconds (typing.Callable:
#: a runtime alias on 3.8).
Observe = Callable[[Job, float], None]


def serve(store: Journal, port: int, address: str = "127.0.0.1") -> Observe:
    """Serve the metrics of ``store`` on ``address:port``; what records a run's time.

    :raises ImportError: ``prometheus_client`` is not installed.
    """
    try:
        import prometheus_client
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
    except ImportError:
        raise ImportError("--metrics-port needs prometheus_client "
                          "(pip install 'nova-hookspec[prometheus]')") from None

    class JournalCollector:
        def collect(self) -> Iterator[Any]:
            status = store.status()
            jobs = CounterMetricFamily("nova_hookspec_deferred_jobs",
                                       "Deferred jobs by plugin, hook and outcome",
                                       labels=["plugin", "hook", "outcome"])
            for row in status["counters"]:
                jobs.add_metric([row["plugin"], row["hook"], row["what"]], row["count"])
            yield jobs
            depth = GaugeMetricFamily("nova_hookspec_deferred_queue_depth",
                                      "Deferred jobs in the journal by state", labels=["state"])
            for state in ("pending", "running", "dead"):
                depth.add_metric([state], status[state])
            yield depth
            yield GaugeMetricFamily("nova_hookspec_deferred_oldest_pending_age_seconds",
                                    "Age of the oldest unfinished deferred job",
                                    value=status["oldest_pending_age"] or 0.0)

    registry = prometheus_client.CollectorRegistry()
    registry.register(JournalCollector())
    runs = prometheus_client.Histogram(
        "nova_hookspec_deferred_run_seconds", "Run time of deferred jobs in this worker",
        ["plugin", "hook"], registry=registry,
        buckets=(0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300))
    prometheus_client.start_http_server(port, address, registry=registry)

    def observe(job: Job, seconds: float) -> None:
        runs.labels(job.plugin, job.hook).observe(seconds)

    return observe

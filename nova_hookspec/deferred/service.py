"""The worker process, started the same way on one host and across hosts.

:func:`run` is the one entry the command calls (``nova-hookspec worker``
only parses its arguments): without a broker it runs the one-host worker
(:class:`.worker.Worker`), with one :class:`AcrossHosts`. Both go through
:mod:`.lifecycle`: start, SIGTERM or SIGINT with ``grace``, ``drain``,
stop, exit status.

Across hosts, one process runs this host's relay of its journal to the
broker (:mod:`.relay`, unless ``relay=False``: a worker host without Nova)
and lane runners for the broker's lanes (:mod:`.consumer`, unless
``run_jobs=False``: ``--relay-only`` on each Nova host):

* start: the plugins are loaded; a plugin's nonsense policy value refuses
  the start (status 2); a process whose ``broker_lanes`` differs from a live
  worker's refuses to start (status 1, :mod:`.presence`); then the relay
  thread, the runners and the presence record start, a line says what runs;
* ``drain``: stop once this host's journal holds nothing pending (spooled,
  waiting for a collection pass, or not relayed) and, when it runs jobs,
  nothing is ready in the lanes nor held by its runners, :data:`CALM` looks
  in a row :data:`TICK` seconds apart;
* SIGTERM or SIGINT: the relay and the runners take nothing more at once;
  within ``grace`` seconds the relay finishes its batch (confirmed and out of
  the outbox) and the runners' running jobs end, else they go back to their
  lanes (unacked); a ``stopped`` line;
* exit status 0 once stopped or drained.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import TYPE_CHECKING, Any, Callable

from nova_hookspec._plugins.manager import NovaPluginManager
from nova_hookspec.deferred import lifecycle, presence
from nova_hookspec.deferred.brokers.journal import Journal
from nova_hookspec.deferred.brokers.rabbit import Rabbit
from nova_hookspec.deferred.consumer import BrokerWorker, deferred_plugins
from nova_hookspec.deferred.relay import Relay
from nova_hookspec.deferred.settings import Settings
from nova_hookspec.deferred.worker import Worker

if TYPE_CHECKING:
    from nova_hookspec.deferred.metrics import Metrics

log = logging.getLogger("nova_hookspec.worker")

#: Seconds between two looks at the stop signal and, with ``drain``, at the work left.
TICK = 0.5
#: Looks in a row that must find nothing left before ``drain`` stops.
CALM = 3


def _drained(rabbit: Rabbit, store: Journal, plugins: list[str], runs_jobs: bool,
             consumer: BrokerWorker | None) -> bool:
    """Nothing left for ``drain``: this host's journal holds nothing pending and, when
    this worker runs jobs, nothing is ready in the lanes nor held by its runners."""
    if store.status()["pending"]:  # spooled, waiting for a pass, or not relayed
        return False
    if not runs_jobs:
        return True
    if consumer is not None and any(runner.holding() for runner in consumer.runners):
        return False
    try:
        return bool(rabbit.status(plugins)["queued"] == 0)
    except Exception:  # noqa: BLE001 - broker away: not drained
        return False


def _watch(metrics: Metrics, rabbit: Rabbit, store: Journal, plugins: list[str],
           relay: Relay | None, consumer: BrokerWorker | None) -> None:
    """Export the broker's states (the lanes of the plugins run here or relayed from
    here), this host's outbox and the liveness of the relay and the lane runners."""
    runners = [] if consumer is None else consumer.runners

    def broker() -> dict[str, Any]:
        relayed = {row["plugin"] for row in store.status()["counters"]}
        return rabbit.status(sorted({*plugins, *relayed}))

    metrics.across_hosts(broker, relaying=relay is not None,
                         held=lambda: [since for r in runners for since in r.held_since()])
    if relay is not None:
        metrics.watch("relay", lambda: not relay.finished.is_set(), lambda: relay.last_loop)
    if runners:
        metrics.watch("worker", lambda: any(not r.finished.is_set() for r in runners),
                      lambda: max(r.last_loop for r in runners))


def _record(name: str, host: str, rabbit: Rabbit, plugins: list[str], relay: Relay | None,
            consumer: BrokerWorker | None) -> Callable[[], dict[str, Any]]:
    """What this process says of itself on the broker (:mod:`.presence`)."""
    runners = consumer.runners if consumer is not None and plugins else []
    since = presence.Since()

    def record() -> dict[str, Any]:
        now = time.time()
        return {"id": "presence", "name": name, "host": host,
                "roles": [*(["relay"] if relay else []), *(["worker"] if runners else [])],
                "broker_lanes": rabbit.lanes, "relays": plugins if relay else [],
                "runs": plugins if runners else [], "version": presence.version(), "at": now,
                "holding": presence.holding(runners, since, now)}

    return record


def run(pm: NovaPluginManager, store: Journal, settings: Settings, *,
        rabbit: Rabbit | None = None, lanes: int = 1, grace: float = 30.0,
        drain: bool = False, relay: bool = True, run_jobs: bool = True,
        metrics: Metrics | None = None) -> int:
    """Run the worker: this host's journal (``rabbit`` ``None``), or the relay of
    ``store`` to ``rabbit`` and the broker's jobs, until SIGTERM or SIGINT (or, with
    ``drain``, until nothing is left); the exit status (:mod:`.lifecycle`)."""
    engine: Worker | AcrossHosts
    if rabbit is None:
        engine = Worker(store, pm, settings, lanes=lanes, grace=grace,
                        observe=None if metrics is None else metrics.observe)
        if metrics is not None:
            worker = engine
            metrics.watch("worker", worker.alive, lambda: worker.last_loop)
    else:
        engine = AcrossHosts(pm, rabbit, store, settings, lanes=lanes, grace=grace,
                             relay=relay, run_jobs=run_jobs, metrics=metrics)
    engine.lifecycle.handle_signals()
    return engine.lifecycle.run(engine, drain)


class AcrossHosts:
    """The relay of ``store`` to ``rabbit`` and the broker's lane runners: an engine of
    :mod:`.lifecycle`."""

    tick = TICK
    calm = CALM

    def __init__(self, pm: NovaPluginManager, rabbit: Rabbit, store: Journal,
                 settings: Settings, *, lanes: int = 1, grace: float = 30.0,
                 relay: bool = True, run_jobs: bool = True,
                 metrics: Metrics | None = None) -> None:
        self.pm = pm
        self.rabbit = rabbit
        self.store = store
        self.settings = settings
        self.lanes = lanes
        self.relay = relay
        self.run_jobs = run_jobs
        self.metrics = metrics
        self.lifecycle = lifecycle.Lifecycle(grace)
        self.name = f"{store.host}:{os.getpid()}"
        self.plugins: list[str] = []
        self.relaying: Relay | None = None
        #: The lane runners, when this process runs jobs of an installed plugin.
        self.consumer: BrokerWorker | None = None
        self.announcer: presence.Announcer | None = None

    def start(self, _: lifecycle.Lifecycle) -> None:
        self.pm.load_all()
        plugins = self.plugins = deferred_plugins(self.pm)
        rabbit, store = self.rabbit, self.store
        relaying = self.relaying = Relay(store, rabbit) if self.relay else None
        consumer = None
        if self.run_jobs:
            if not plugins:
                log.warning("nova_hookspec worker: no deferred plugin is installed here; "
                            "this worker runs no job")
            consumer = BrokerWorker(rabbit, self.pm, self.settings, lanes=self.lanes,
                                    observe=None if self.metrics is None
                                    else self.metrics.observe)
            consumer.check()  # a plugin's nonsense value: status 2, as on one host
            if plugins:  # no runner started for no plugin: none to wait for at stop
                self.consumer = consumer
        if self.metrics is not None:
            _watch(self.metrics, rabbit, store, plugins, relaying, self.consumer)
        refused = presence.refusal(rabbit, store.host)
        if refused is not None:  # no job stranded: they wait in the outbox or their lanes
            raise lifecycle.Refused(lifecycle.CANNOT_GO_ON, f"nova_hookspec worker "
                                    f"{self.name}: {refused}; not starting")
        look = None if relaying is None else (
            lambda records: relaying.hold(presence.lane_problem(rabbit.lanes, store.host,
                                                                records, but=self.name)))
        self.announcer = presence.Announcer(rabbit, _record(
            self.name, store.host, rabbit, plugins, relaying, self.consumer), look)
        log.info("nova_hookspec worker %s: broker %s, prefix %r, %s%s", self.name,
                 rabbit.broker.shown, rabbit.prefix,
                 f"relaying {store.path}" if relaying else "no relay",
                 f", {self.lanes} lane runner(s) for {', '.join(plugins) or 'no plugin'}"
                 if consumer else "")
        self.announcer.start()
        if relaying is not None:
            threading.Thread(target=relaying.run, name="relay", daemon=True).start()
        if self.consumer is not None:
            self.consumer.start()

    def drained(self) -> bool:
        return _drained(self.rabbit, self.store, self.plugins, self.run_jobs, self.consumer)

    def ended(self) -> str | None:
        """Why this process cannot go on: its relay and every lane runner ended."""
        threads = [*([self.relaying.finished] if self.relaying else []),
                   *(r.finished for r in (self.consumer.runners if self.consumer else []))]
        if threads and all(finished.is_set() for finished in threads):
            return "the relay and every lane runner ended"
        return None

    def halt(self) -> None:
        if self.relaying is not None:
            self.relaying.stop()
        if self.consumer is not None:
            self.consumer.stop()

    def finish(self, deadline: float) -> str:
        """The relay's batch confirmed and out of the outbox, the runners' running jobs
        ended, until ``deadline``; the rest go back to their lanes (unacked)."""
        if self.relaying is not None:
            self.relaying.finished.wait(max(0.0, deadline - time.monotonic()))
        if self.consumer is not None and not self.consumer.wait(deadline):
            log.info("nova_hookspec worker: jobs still running after the grace period go "
                     "back to their lanes")
        if self.announcer is not None:
            self.announcer.stop()
        time.sleep(0.05)
        return ""

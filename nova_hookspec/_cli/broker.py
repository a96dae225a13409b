"""``nova-hookspec worker`` and ``deferred ...`` when a broker carries the jobs.

The worker runs the relay of this host's journal (unless ``--no-relay``)
and lane runners for the broker's lanes (unless ``--relay-only``). The
``deferred`` commands show this host's outbox and the broker's lanes, and
reach the broker's dead letters (ids ``HOST:NUMBER``).
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import time
from typing import TYPE_CHECKING, Any

from nova_hookspec._plugins.process import get_plugin_manager
from nova_hookspec.deferred.brokers.journal import Journal
from nova_hookspec.deferred.brokers.rabbit import Rabbit
from nova_hookspec.deferred.consumer import deferred_plugins
from nova_hookspec.deferred.settings import Settings

if TYPE_CHECKING:
    from nova_hookspec.deferred.metrics import Observe

log = logging.getLogger("nova_hookspec.worker")


def _drained(rabbit: Rabbit, store: Journal, plugins: list[str], consumer: Any) -> bool:
    """Nothing left for ``--drain``: this host's outbox empty and, when this worker
    runs jobs, nothing ready in the lanes nor held by its runners."""
    if store.outbox(1):
        return False
    if consumer is None:
        return True
    if any(runner.holding() for runner in consumer.runners):
        return False
    try:
        return bool(rabbit.status(plugins)["queued"] == 0)
    except Exception:  # noqa: BLE001 - broker away: not drained
        return False


def run_broker_worker(args: argparse.Namespace, rabbit: Rabbit, store: Journal,
                      found: Settings, observe: Observe | None) -> int:
    from nova_hookspec.deferred.consumer import BrokerWorker
    from nova_hookspec.deferred.relay import Relay

    pm = get_plugin_manager()
    pm.load_all()
    plugins = deferred_plugins(pm)
    relay = None if args.no_relay else Relay(store, rabbit)
    consumer = None
    if not args.relay_only:
        if not plugins:
            log.warning("nova_hookspec worker: no deferred plugin is installed here; this "
                        "worker runs no job")
        consumer = BrokerWorker(rabbit, pm, found, lanes=args.lanes, grace=args.grace,
                                observe=observe)
    stopping = threading.Event()

    def stop(*_: Any) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("nova_hookspec worker: broker %s, prefix %r, %s%s", rabbit.broker.shown,
             rabbit.prefix, f"relaying {store.path}" if relay else "no relay",
             f", {args.lanes} lane runner(s) for {', '.join(plugins) or 'no plugin'}"
             if consumer else "")
    if relay is not None:
        threading.Thread(target=relay.run, name="relay", daemon=True).start()
    if consumer is not None and plugins:
        consumer.start()
    calm = 0
    while not stopping.wait(0.5):
        if args.drain:
            calm = calm + 1 if _drained(rabbit, store, plugins, consumer) else 0
            if calm >= 3:
                break
    if relay is not None:
        relay.stop()
        relay.finished.wait(args.grace)  # its batch confirmed and out of the outbox
    if consumer is not None:
        consumer.stop()
        if not consumer.wait():
            log.info("nova_hookspec worker: jobs still running after the grace period go "
                     "back to their lanes")
    time.sleep(0.05)
    return 0


def status(rabbit: Rabbit, store: Journal) -> dict[str, Any]:
    pm = get_plugin_manager()
    pm.load_all()
    local = store.status()
    plugins = sorted({*deferred_plugins(pm), *(row["plugin"] for row in local["counters"])})
    found = rabbit.status(plugins)
    return {**local, "outbox": local["pending"], "broker": found}

"""The demo's last act: a slow, sometimes unreachable system behind a deferred plugin.

The plugin takes half a second per call and its system is down the first
time. Deferred, the hooked call only writes a job to a journal (a temporary
one here) and returns at once; a worker, run in this process, catches up,
retries the outage with a backoff and finishes the job.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import TextIO

from nova_hookspec import Delivery, hookimpl
from nova_hookspec._nova.standins import Instance, RequestContext
from nova_hookspec._plugins.manager import NovaPluginManager
from nova_hookspec.deferred import enqueue
from nova_hookspec.deferred.brokers.journal import Journal
from nova_hookspec.deferred.settings import Settings
from nova_hookspec.deferred.worker import Worker

NAME = "demo-ldap"


class SlowLdap:
    """Registers each new instance in a directory that answers in 0.5 s, and is
    down on the first try."""

    def __init__(self, say: TextIO) -> None:
        self.out = say
        self.calls = 0

    @hookimpl(deferred=True)
    def create_instance_post(self, result: tuple[list[Instance], str],
                             delivery: Delivery) -> None:
        self.calls += 1
        time.sleep(0.5)
        if self.calls == 1:
            print(f"      [worker] {NAME}: attempt {delivery.attempt} of job "
                  f"{delivery.job_id}: directory unreachable", file=self.out)
            raise ConnectionError("LDAP server unreachable (simulated)")
        for instance in result[0]:
            print(f"      [worker] {NAME}: attempt {delivery.attempt}: registered "
                  f"{instance.hostname} ({instance.uuid[:8]})", file=self.out)


def run(pm: NovaPluginManager, create: object, out: TextIO) -> None:
    """Create an instance with the slow plugin deferred, then let a worker catch up."""
    print("\n6. a deferred plugin: a slow directory, down at first", file=out)
    with tempfile.TemporaryDirectory() as folder:
        journal = Journal(str(Path(folder) / "journal.sqlite"))
        enqueue.use(journal)
        plugin = SlowLdap(out)
        pm.register(plugin, NAME)
        try:
            started = time.perf_counter()
            create(RequestContext(), "m1.small", "cirros", display_name="db-1")  # type: ignore[operator]
            took = (time.perf_counter() - started) * 1000
            print(f"   -> the call returned in {took:.1f} ms; the plugin takes 500 ms: "
                  f"{journal.status()['pending']} job waits in the journal", file=out)
            settings = Settings(journal=journal.path, retry_min_backoff=0.2,
                                retry_max_backoff=0.4)
            Worker(journal, pm, settings, lanes=1, poll=0.05).run(drain=True)
            status = journal.status()
            print(f"   -> the worker caught up: {status['pending']} pending, "
                  f"{status['dead']} dead, the outage retried", file=out)
        finally:
            pm.unregister(name=NAME)
            enqueue.use(None)

"""The demo's sixth act: a slow, sometimes unreachable LDAP directory behind a deferred plugin.

The plugin takes half a second per call and its system is down the first
time. Deferred, the hooked call only writes a job to a journal (a temporary
one here) and returns at once; a worker, run in this process, catches up,
retries the outage with a backoff and finishes the job.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

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
            print(f"      [worker] {NAME}: job {delivery.job_id}, attempt {delivery.attempt}: "
                  "LDAP directory unreachable", file=self.out)
            raise ConnectionError("LDAP server unreachable (simulated)")
        for instance in result[0]:
            print(f"      [worker] {NAME}: job {delivery.job_id}, attempt {delivery.attempt}: "
                  f"registered {instance.hostname} ({instance.uuid[:8]})", file=self.out)


def _jobs(count: int) -> str:
    return f"{count} job waits" if count == 1 else f"{count} jobs wait"


@contextlib.contextmanager
def scratch(pm: NovaPluginManager, plugin: object, name: str) -> Iterator[Journal]:
    """A journal in a temporary folder, used by this process's deferred writes, with
    ``plugin`` registered as ``name``; all of it gone afterwards."""
    with tempfile.TemporaryDirectory() as folder:
        journal = Journal(str(Path(folder) / "journal.sqlite"))
        enqueue.use(journal)
        pm.register(plugin, name)
        try:
            yield journal
        finally:
            pm.unregister(name=name)
            enqueue.use(None)


def run(pm: NovaPluginManager, create: Callable[..., Any], out: TextIO) -> None:
    """Create an instance with the slow plugin deferred, then let a worker catch up."""
    print(f"\n6. a deferred plugin: {NAME} registers each new instance in an LDAP directory "
          "that takes\n   500 ms a call, and is down the first time. Marked "
          "@hookimpl(deferred=True), it does not\n   run in Nova's call: the call writes a job "
          "to the journal (a queue in a file on this\n   host's disk) and returns; a worker "
          "(nova-hookspec worker) runs the jobs, retries a\n   failure after a backoff, and "
          "runs each instance's jobs in the order they were written,\n   in lanes (a lane runs one "
          "job at a time; a worker with more lanes runs jobs side by side).", file=out)
    with scratch(pm, SlowLdap(out), NAME) as journal:
        started = time.perf_counter()
        create(RequestContext(), "m1.small", "cirros", display_name="db-1")
        took = (time.perf_counter() - started) * 1000
        print(f"   -> the call returned in {took:.1f} ms, without waiting the 500 ms "
              f"({NAME}'s time above is writing its job):\n"
              f"      {_jobs(journal.status()['pending'])} in the journal; now a worker "
              "runs it", file=out)
        settings = Settings(journal=journal.path, retry_min_backoff=0.2,
                            retry_max_backoff=0.4)
        Worker(journal, pm, settings, lanes=1, poll=0.05).run(drain=True)
        status = journal.status()
        print(f"   -> the worker caught up: {status['pending']} pending, "
              f"{status['dead']} dead; the outage cost a retry, not the instance's "
              "registration", file=out)

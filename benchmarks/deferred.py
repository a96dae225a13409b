"""Deferred post hooks, measured (``nox -s bench``, after ``run.py``).

    python benchmarks/deferred.py [--calls N] [--jobs N]

**Added time of the hooked call.** A ``create_instance_post`` plugin whose
system answers in 500 ms, run in the call (a few calls) and deferred
(``--calls`` calls, with the journal's ``synchronous`` FULL and NORMAL): the
call's wall-clock minus that of the same call with no plugin, p50 and p99.
The journal is a file in a temporary folder on this machine's disk.

**Worker throughput.** ``--jobs`` jobs written first, then an in-process
worker drains them with 1 and with 4 lanes, for a plugin of 0 ms and of
10 ms: jobs per second from the first claim to the last done.

Nothing here asserts a number.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import nova_hookspec
from nova_hookspec import hookimpl
from nova_hookspec._nova.standins import Instance, RequestContext
from nova_hookspec.deferred import enqueue
from nova_hookspec.deferred.brokers.journal import Journal
from nova_hookspec.deferred.settings import Settings
from nova_hookspec.deferred.worker import Worker


@nova_hookspec.add_hook("create_instance")
def create(self: object, context: object, flavor: str, image_href: str) -> tuple[list[Any], str]:
    return [Instance(hostname=image_href)], "r-1"


class Slow:
    """A plugin whose system answers in ``delay`` seconds."""

    def __init__(self, delay: float) -> None:
        self.delay = delay

    @hookimpl
    def create_instance_post(self, result: tuple[list[Any], str]) -> None:
        time.sleep(self.delay)


class DeferredSlow(Slow):
    @hookimpl(deferred=True)
    def create_instance_post(self, result: tuple[list[Any], str]) -> None:
        time.sleep(self.delay)


def timed_calls(count: int) -> list[float]:
    context = RequestContext()
    times = []
    for n in range(count):
        started = time.perf_counter()
        create(None, context, "m1", f"server-{n}")
        times.append((time.perf_counter() - started) * 1000)
    return times


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def with_plugin(plugin: object, count: int) -> list[float]:
    pm = nova_hookspec.get_plugin_manager()
    pm.register(plugin, "bench-plugin")
    try:
        return timed_calls(count)
    finally:
        pm.unregister(name="bench-plugin")


def added_time(folder: Path, calls: int) -> list[str]:
    base = statistics.median(timed_calls(calls))
    rows = []
    sync = with_plugin(Slow(0.5), 5)
    rows.append(("run in the call", sync))
    for sync_mode in ("full", "normal"):
        enqueue.use(Journal(str(folder / f"added-{sync_mode}.sqlite"), sync_mode))
        rows.append((f"deferred, {sync_mode.upper()}", with_plugin(DeferredSlow(0.5), calls)))
    enqueue.use(None)
    lines = [f"no plugin: p50 {base:.3f} ms per call", "",
             f"{'500 ms plugin':<24}{'calls':>7}{'p50 added':>13}{'p99 added':>13}"]
    for label, times in rows:
        added = [t - base for t in times]
        lines.append(f"{label:<24}{len(times):>7}{percentile(added, 0.5):>10.3f} ms"
                     f"{percentile(added, 0.99):>10.3f} ms")
    return lines


def throughput(folder: Path, jobs: int) -> list[str]:
    pm = nova_hookspec.get_plugin_manager()
    lines = [f"{'plugin':<10}{'lanes':>6}{'jobs':>7}{'jobs/s':>10}"]
    for delay in (0.0, 0.01):
        for lanes in (1, 4):
            journal = Journal(str(folder / f"tp-{delay}-{lanes}.sqlite"))
            enqueue.use(journal)
            pm.register(DeferredSlow(delay), "bench-plugin")
            try:
                context = RequestContext()
                for n in range(jobs):
                    create(None, context, "m1", f"server-{n}")
                worker = Worker(journal, pm, Settings(journal=journal.path), lanes=lanes,
                                poll=0.01)
                started = time.perf_counter()
                worker.run(drain=True)
                took = time.perf_counter() - started
            finally:
                pm.unregister(name="bench-plugin")
                enqueue.use(None)
            assert journal.status()["pending"] == 0
            lines.append(f"{f'{delay * 1000:.0f} ms':<10}{lanes:>6}{jobs:>7}{jobs / took:>10.0f}")
    return lines


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500, help="deferred calls timed")
    parser.add_argument("--jobs", type=int, default=400, help="jobs per throughput run")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        report = ["## Deferred post hooks", "", "### Added time of the hooked call", "",
                  *added_time(folder, args.calls), "", "### Worker throughput (one host)", "",
                  *throughput(folder, args.jobs)]
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Deferred post hooks, measured (``nox -s bench``, after ``run.py``).

    python benchmarks/deferred.py [--calls N] [--jobs N]

**Added time of the hooked call.** A ``create_instance_post`` plugin whose
system answers in 500 ms, run in the call (a few calls) and deferred
(``--calls`` calls, with the journal's ``synchronous`` FULL and NORMAL): the
call's wall-clock minus that of the same call with no plugin, p50 and p99.
The journal is a file in a temporary folder on this machine's disk.

**Worker throughput.** ``--jobs`` jobs written first, then an in-process
worker drains them with 1 and with 4 lanes, for a plugin of 0 ms and of
10 ms: jobs per second from the first claim (and collection) to the last
done.

**Eight writers, then a worker.** ``--writers`` processes (forked, 8 by
default) each make ``--each`` deferred calls (250) through the real spool
path (FULL); then a worker (4 lanes, 0 ms plugin) collects and runs them:
jobs/s from the worker's start to the last job done (issue 28's "one host,
0 ms plugin, jobs/s").

**Eight writers, a worker draining.** The same writers at once while a
worker (4 lanes, 0 ms plugin) collects and runs the jobs, FULL and NORMAL:
the call's p50, p99 and max over every process's calls, and the jobs/s from
the first call to the last job done; beside the same calls with no plugin.
During the FULL run an eventlet process (monkey-patched) makes
``--green`` deferred calls (to a journal of its own, on the same disk) with
a ticker green thread sleeping 1 ms: the longest gap between two ticks (a
green thread stalled by a call's write, or by the machine's load).

Nothing here asserts a number.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

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


def _drain_timed(journal: Journal, delay: float, lanes: int,
                 write: Callable[[], None]) -> float:
    """Seconds a worker (``lanes`` lanes, a ``delay`` s plugin) takes to run every job
    ``write`` wrote into ``journal``, from its start to the last done."""
    pm = nova_hookspec.get_plugin_manager()
    enqueue.use(journal)
    pm.register(DeferredSlow(delay), "bench-plugin")
    try:
        write()
        worker = Worker(journal, pm, Settings(journal=journal.path), lanes=lanes, poll=0.01)
        started = time.perf_counter()
        worker.run(drain=True)
        took = time.perf_counter() - started
    finally:
        pm.unregister(name="bench-plugin")
        enqueue.use(None)
    assert journal.status()["pending"] == 0
    return took


def throughput(folder: Path, jobs: int) -> list[str]:
    lines = [f"{'plugin':<10}{'lanes':>6}{'jobs':>7}{'jobs/s':>10}"]

    def write() -> None:
        context = RequestContext()
        for n in range(jobs):
            create(None, context, "m1", f"server-{n}")

    for delay in (0.0, 0.01):
        for lanes in (1, 4):
            journal = Journal(str(folder / f"tp-{delay}-{lanes}.sqlite"))
            took = _drain_timed(journal, delay, lanes, write)
            lines.append(f"{f'{delay * 1000:.0f} ms':<10}{lanes:>6}{jobs:>7}{jobs / took:>10.0f}")
    return lines


def _writer(barrier: Any, results: Any, each: int) -> None:
    barrier.wait()
    results.put(timed_calls(each))
    results.close()
    results.join_thread()
    os._exit(0)


def _writers(count: int, each: int, started: Any) -> list[float]:
    """``count`` forked processes making ``each`` calls at once; every call's ms."""
    fork = multiprocessing.get_context("fork")
    barrier, results = fork.Barrier(count + 1), fork.Queue()
    children = [fork.Process(target=_writer, args=(barrier, results, each))
                for _ in range(count)]
    for child in children:
        child.start()
    started()
    barrier.wait()
    times = [t for _ in children for t in results.get()]
    for child in children:
        child.join()
    return times


GREEN = """
import eventlet
eventlet.monkey_patch()
import sys, time
import nova_hookspec
from nova_hookspec import hookimpl
from nova_hookspec._nova.standins import Instance, RequestContext
from nova_hookspec.deferred import enqueue
from nova_hookspec.deferred.brokers.journal import Journal

@nova_hookspec.add_hook("create_instance")
def create(self, context, flavor, image_href):
    return [Instance(hostname=image_href)], "r-1"

class Deferred:
    @hookimpl(deferred=True)
    def create_instance_post(self, result):
        pass

nova_hookspec.get_plugin_manager().register(Deferred(), "bench-green")
enqueue.use(Journal(sys.argv[1], "full"))
context = RequestContext()
create(None, context, "m1", "green-first")  # the first file: not measured
gaps = []

def ticker():
    last = time.monotonic()
    while True:
        eventlet.sleep(0.001)
        now = time.monotonic()
        gaps.append(now - last)
        last = now

eventlet.spawn(ticker)
eventlet.sleep(0.01)
for n in range(int(sys.argv[2])):
    create(None, context, "m1", f"green-{n}")
    eventlet.sleep(0.002)
print(f"{max(gaps) * 1000:.3f}", flush=True)
"""


def _drained(journal: Journal) -> None:
    while True:
        status = journal.status()
        if not (status["pending"] or status["running"]):
            return
        time.sleep(0.01)


def written_then_run(folder: Path, count: int, each: int) -> list[str]:
    """``count`` processes write ``each`` jobs (real spool files, FULL), then a worker
    (4 lanes) runs them: jobs/s from its start to the last done."""
    journal = Journal(str(folder / "written-then-run.sqlite"))

    def write() -> None:
        _writers(count, each, lambda: None)
        assert journal.status()["spooled"] == count * each

    took = _drain_timed(journal, 0.0, 4, write)
    return [f"one host, 0 ms plugin: {count} processes wrote {count * each} jobs, then a "
            f"worker (4 lanes) ran them in {took:.2f} s: {count * each / took:.0f} jobs/s"]


def _contended(folder: Path, sync: str, count: int, each: int,
               green: int) -> tuple[list[float], str, str]:
    """The writers at once while a worker drains (and the eventlet probe, if ``green``):
    every call's ms, the jobs/s line, the probe's longest gap."""
    pm = nova_hookspec.get_plugin_manager()
    journal = Journal(str(folder / f"contention-{sync}.sqlite"), sync)
    enqueue.use(journal)
    pm.register(DeferredSlow(0.0), "bench-plugin")
    worker = Worker(journal, pm, Settings(journal=journal.path), lanes=4, poll=0.05)
    running: list[threading.Thread] = []
    begun: list[float] = []
    probe: list[subprocess.Popen[str]] = []

    def start_worker() -> None:  # after the fork: the children carry no worker thread
        running.append(threading.Thread(target=worker.run, daemon=True))
        running[0].start()
        begun.append(time.perf_counter())
        if green:
            probe.append(subprocess.Popen(
                [sys.executable, "-W", "ignore", "-c", GREEN, str(folder / "green.sqlite"),
                 str(green)],
                stdout=subprocess.PIPE, text=True))

    gap = ""
    try:
        times = _writers(count, each, start_worker)
        for process in probe:
            out, _ = process.communicate(timeout=600)
            gap = f"{float(out.split()[-1]):.3f} ms"
        _drained(journal)
        took = time.perf_counter() - begun[0]
    finally:
        worker.stop()
        for thread in running:
            thread.join()
        pm.unregister(name="bench-plugin")
        enqueue.use(None)
    jobs = count * each  # the eventlet process writes to a journal of its own
    return times, (f"{sync.upper()}: {jobs} jobs written and run in {took:.2f} s: "
                   f"{jobs / took:.0f} jobs/s"), gap


def contention(folder: Path, count: int, each: int, green: int) -> list[str]:
    rows: list[tuple[str, list[float]]] = [("no plugin", _writers(count, each, lambda: None))]
    rates, gap = [], ""
    for sync in ("full", "normal"):
        times, rate, found = _contended(folder, sync, count, each, green if sync == "full"
                                        else 0)
        rows.append((f"deferred, {sync.upper()}", times))
        rates.append(rate)
        gap = gap or found
    lines = [f"{count} processes x {each} calls at once, a worker (4 lanes) draining",
             "", f"{'':<24}{'p50':>10}{'p99':>10}{'max':>10}"]
    for label, took in rows:
        lines.append(f"{label:<24}{percentile(took, 0.5):>7.3f} ms{percentile(took, 0.99):>7.3f}"
                     f" ms{max(took):>7.3f} ms")
    lines += ["", *rates]
    if gap:
        lines += ["", f"eventlet process ({green} deferred calls, FULL, during the FULL run): "
                      f"longest gap of a 1 ms ticker green thread {gap}"]
    return lines


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500, help="deferred calls timed")
    parser.add_argument("--jobs", type=int, default=400, help="jobs per throughput run")
    parser.add_argument("--writers", type=int, default=8, help="writing processes at once")
    parser.add_argument("--each", type=int, default=250, help="calls of each writer")
    parser.add_argument("--green", type=int, default=200, help="calls of the eventlet process")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        report = ["## Deferred post hooks", "", "### Added time of the hooked call", "",
                  *added_time(folder, args.calls), "", "### Worker throughput (one host)", "",
                  *throughput(folder, args.jobs), "",
                  *written_then_run(folder, args.writers, args.each), "",
                  "### Eight writing processes, a worker draining", "",
                  *contention(folder, args.writers, args.each, args.green)]
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

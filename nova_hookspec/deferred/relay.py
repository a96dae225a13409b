"""The relay: moves this host's deferred jobs from its journal to RabbitMQ.

The hooked call only ever writes to its spool file (:mod:`.enqueue`), which
the relay collects into the host's journal (:mod:`.collector`) before each
read; with a broker configured the journal is an outbox, and the relay (a thread
of ``nova-hookspec worker``, or the whole of ``nova-hookspec worker
--relay-only``) publishes its jobs in the order they were written, in
batches with publisher confirms (a job once a collection pass that started
after it was written is done: the order of :mod:`.collector`), and removes a batch from the outbox only
once the broker confirmed all of it. While the broker is down or unreachable the jobs wait
in the outbox and the relay tries again with a backoff (up to
``MAX_BACKOFF``, :mod:`.reconnect`); Nova's calls never wait for it.

A relay killed between the confirm and the removal publishes that job
again when it comes back: the jobs are delivered at least once (their id,
``host:number``, is the same both times; :class:`~nova_hookspec.Delivery`).

A relay whose ``broker_lanes`` differs from a live worker's does not start,
and one that finds it later holds the jobs in the outbox until the settings
agree (:mod:`.presence`): published, most of them would go to lanes no
worker runs.

One relay per journal: a relay takes a lock file beside the journal and
holds it while it lives; a second one stands by (and takes over when the
first ends), so two relays never publish the same jobs.

Defaults: ``BATCH`` jobs per read of the outbox, an idle outbox read again
every ``POLL`` seconds.

Test-only seam: with the environment variable :data:`PAUSE_AFTER_CONFIRM`
naming a file that exists, the relay stops right after the broker confirmed
a batch and before the batch leaves the outbox, logs so, and waits there
while the file exists (or until stopped): the moment a test kills it, to
show what a re-publish does (``tests_broker/test_republish.py``). Its name
does not start with ``NOVA_HOOKSPEC_``: it is no setting, and unset it
costs one look at the environment per batch.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from typing import IO, Any

from nova_hookspec.deferred import liveness
from nova_hookspec.deferred.brokers.journal import Journal
from nova_hookspec.deferred.brokers.rabbit import (
    HEARTBEAT,
    Confirms,
    Rabbit,
    why_unreachable,
)
from nova_hookspec.deferred.collector import Collector
from nova_hookspec.deferred.message import of_outbox
from nova_hookspec.deferred.reconnect import Backoff, connections

log = logging.getLogger("nova_hookspec.relay")

BATCH = 200
POLL = 0.02
MAX_BACKOFF = 30.0
#: Seconds between two tries of a relay that stands by for another one.
STANDBY_POLL = 2.0
#: The test-only seam's environment variable (see the module's text).
PAUSE_AFTER_CONFIRM = "_NOVA_HOOKSPEC_TEST_RELAY_PAUSE_AFTER_CONFIRM"


class Relay:
    """Relays ``journal``'s jobs to ``rabbit`` until :meth:`stop`."""

    def __init__(self, journal: Journal, rabbit: Rabbit) -> None:
        self.journal = journal
        self.rabbit = rabbit
        self.stopping = threading.Event()
        self.finished = threading.Event()
        self.relayed = 0
        self.collector = Collector(journal)
        #: When the relay's loop last went round (the metrics' liveness).
        self.last_loop = 0.0
        #: Why the jobs wait in the outbox instead (:meth:`hold`), or ``None``.
        self.held_because: str | None = None

    def hold(self, why: str | None) -> None:
        """Keep the jobs in the outbox while ``why`` (a live worker runs another
        ``broker_lanes``: :mod:`.presence`); ``None``: relay again."""
        if why != self.held_because:
            if why is not None:
                log.error("relay of %s: %s; the jobs wait in this host's outbox until the "
                          "settings agree", self.journal.path, why)
            else:
                log.info("relay of %s: the settings agree again; relaying", self.journal.path)
        self.held_because = why

    def relay_once(self, confirms: Confirms, declared: set[str]) -> int:
        """Publish one batch of the outbox, wait for its confirms, then take it out of
        the outbox; how many jobs left it."""
        self.collector.collect()
        jobs = self.journal.outbox(BATCH)
        for job in jobs:
            if job["plugin"] not in declared:
                self.rabbit.declare(confirms.channel, [job["plugin"]])
                declared.add(job["plugin"])
            message = of_outbox(job)
            confirms.publish(self.rabbit.lane_for(job["plugin"], message["lane"]), message)
        if jobs:
            confirms.wait()  # raises unless the broker has every one of them
            self._paused_for_a_test(jobs)
            self.journal.sent([job["number"] for job in jobs])
            self.relayed += len(jobs)
        return len(jobs)

    def _paused_for_a_test(self, jobs: list[dict[str, Any]]) -> None:
        """The test-only seam (:data:`PAUSE_AFTER_CONFIRM`): wait between the confirm and
        the outbox update while its file exists."""
        gate = os.environ.get(PAUSE_AFTER_CONFIRM)
        if not gate or not os.path.exists(gate):
            return
        log.warning("relay of %s: the broker confirmed %d job(s), %s:%s to %s:%s; paused "
                    "before they leave the outbox (test seam %s)", self.journal.path,
                    len(jobs), jobs[0]["host"], jobs[0]["number"], jobs[-1]["host"],
                    jobs[-1]["number"], PAUSE_AFTER_CONFIRM)
        while os.path.exists(gate) and not self.stopping.wait(0.05):
            pass

    def _only_relay(self) -> IO[bytes] | None:
        """Wait until this is the journal's only relay (a lock file beside it, held
        while this process lives); ``None`` if stopped first."""
        lock = open(self.journal.path + ".relay-lock", "ab")  # noqa: SIM115 - held open
        said = False
        while not self.stopping.is_set():
            self.last_loop = time.time()
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return lock
            except BlockingIOError:
                if not said:
                    log.info("relay of %s: another relay runs for this journal; standing by",
                             self.journal.path)
                    said = True
                self.stopping.wait(STANDBY_POLL)
        lock.close()
        return None

    def run(self) -> None:
        """Relay until stopped, reconnecting after a broker outage."""
        try:
            lock = self._only_relay()
            if lock is None:
                return
            try:
                self._relay()
            finally:
                lock.close()
                self.collector.close()
        finally:
            self.finished.set()

    def _relay(self) -> None:
        backoff = Backoff(most=MAX_BACKOFF)
        for conn in connections(lambda: self.rabbit.connect(confirms=False, heartbeat=HEARTBEAT),
                                self.stopping, backoff, self._unreachable, self._looped):
            log.info("relay of %s to %s: connected", self.journal.path, self.rabbit.broker.shown)
            try:
                confirms = self.rabbit.confirms(conn)
                declared: set[str] = set()
                self.rabbit.declare(confirms.channel)
                while not self.stopping.is_set():
                    self.last_loop = time.time()
                    if self.held_because is not None:  # collected, kept in the outbox
                        self.collector.collect()
                        self.stopping.wait(POLL * 25)
                    elif not self.relay_once(confirms, declared):
                        self.stopping.wait(POLL)
                    liveness.drain(conn)  # the broker's heartbeats (and a closed socket)
                    conn.heartbeat_check()  # a stopped relay's connection is closed
            except Exception as exc:  # noqa: BLE001 - connection lost: connect again
                self._unreachable(exc, backoff.delay)
                self.stopping.wait(backoff.delay)

    def _looped(self) -> None:
        self.last_loop = time.time()

    def _unreachable(self, exc: BaseException, backoff: float) -> None:
        pending = len(self.journal.outbox(BATCH))
        log.warning("relay of %s: %s; %s job(s) wait in the outbox, trying again in %.1f s",
                    self.journal.path, why_unreachable(self.rabbit.broker, exc),
                    f"{pending}+" if pending == BATCH else pending, backoff)

    def stop(self) -> None:
        self.stopping.set()

"""The relay: moves this host's deferred jobs from its journal to RabbitMQ.

The hooked call only ever writes to the host's journal (:mod:`.enqueue`);
with a broker configured the journal is an outbox, and the relay (a thread
of ``nova-hookspec worker``, or the whole of ``nova-hookspec worker
--relay-only``) publishes its jobs in the order they were written, in
batches with publisher confirms, and removes a batch from the outbox only
once the broker confirmed all of it. While the broker is down or unreachable the jobs wait
in the outbox and the relay tries again with a backoff (up to
``MAX_BACKOFF``); Nova's calls never wait for it.

A relay killed between the confirm and the removal publishes that job
again when it comes back: the jobs are delivered at least once (their id,
``host:number``, is the same both times; :class:`~nova_hookspec.Delivery`).

One relay per journal: a relay takes a lock file beside the journal and
holds it while it lives; a second one stands by (and takes over when the
first ends), so two relays never publish the same jobs.

Defaults: ``BATCH`` jobs per read of the outbox, an idle outbox read again
every ``POLL`` seconds.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import threading
from typing import IO

from nova_hookspec.deferred.brokers.journal import Journal
from nova_hookspec.deferred.brokers.rabbit import Confirms, Rabbit, message_of

log = logging.getLogger("nova_hookspec.relay")

BATCH = 200
POLL = 0.02
MAX_BACKOFF = 30.0
#: Seconds between two tries of a relay that stands by for another one.
STANDBY_POLL = 2.0


class Relay:
    """Relays ``journal``'s jobs to ``rabbit`` until :meth:`stop`."""

    def __init__(self, journal: Journal, rabbit: Rabbit) -> None:
        self.journal = journal
        self.rabbit = rabbit
        self.stopping = threading.Event()
        self.finished = threading.Event()
        self.relayed = 0

    def relay_once(self, confirms: Confirms, declared: set[str]) -> int:
        """Publish one batch of the outbox, wait for its confirms, then take it out of
        the outbox; how many jobs left it."""
        jobs = self.journal.outbox(BATCH)
        for job in jobs:
            if job["plugin"] not in declared:
                self.rabbit.declare(confirms.channel, [job["plugin"]])
                declared.add(job["plugin"])
            message = message_of(job)
            confirms.publish(self.rabbit.lane_for(job["plugin"], message["lane"]), message)
        if jobs:
            confirms.wait()  # raises unless the broker has every one of them
            self.journal.sent([job["number"] for job in jobs])
            self.relayed += len(jobs)
        return len(jobs)

    def _only_relay(self) -> IO[bytes] | None:
        """Wait until this is the journal's only relay (a lock file beside it, held
        while this process lives); ``None`` if stopped first."""
        lock = open(self.journal.path + ".relay-lock", "ab")  # noqa: SIM115 - held open
        said = False
        while not self.stopping.is_set():
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
        finally:
            self.finished.set()

    def _relay(self) -> None:
        backoff = 0.5
        while not self.stopping.is_set():
            try:
                conn = self.rabbit.connect(confirms=False)
            except Exception as exc:  # noqa: BLE001 - the broker is away: the jobs wait
                self._unreachable(exc, backoff)
                backoff = min(MAX_BACKOFF, backoff * 2)
                continue
            log.info("relay of %s to %s: connected", self.journal.path, self.rabbit.broker.shown)
            backoff = 0.5
            try:
                confirms = self.rabbit.confirms(conn)
                declared: set[str] = set()
                self.rabbit.declare(confirms.channel)
                while not self.stopping.is_set():
                    if not self.relay_once(confirms, declared):
                        self.stopping.wait(POLL)
            except Exception as exc:  # noqa: BLE001 - connection lost: connect again
                self._unreachable(exc, backoff)
            finally:
                with contextlib.suppress(Exception):  # closing a broken connection
                    conn.release()

    def _unreachable(self, exc: BaseException, backoff: float) -> None:
        pending = len(self.journal.outbox(BATCH))
        log.warning("relay of %s: broker %s unreachable (%s); %s job(s) wait in the outbox, "
                    "trying again in %.1f s", self.journal.path, self.rabbit.broker.shown,
                    type(exc).__name__, f"{pending}+" if pending == BATCH else pending, backoff)
        self.stopping.wait(backoff)

    def stop(self) -> None:
        self.stopping.set()

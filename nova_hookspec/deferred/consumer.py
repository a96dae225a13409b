"""The worker's broker side: runs the deferred jobs of every host from RabbitMQ.

A worker process has ``--lanes`` runners (threads), each with a connection
of its own. A runner takes lane queues (:mod:`.brokers.rabbit`) as an
*exclusive* consumer, so that each lane queue has one consumer in the
whole cloud, and runs its jobs one at a time in the lane's order
(:mod:`.lanes`): one instance's jobs of one plugin run in order whichever
worker runs them.

Sharing the lanes. Every runner also consumes the roll-call queue, so its
consumer count is the number of runners alive. Every ``BALANCE_EVERY``
seconds a runner works out its share, ``ceil(lane queues / runners)``:
below it, it takes lane queues that have no consumer; above it, it gives
one back (its unacked jobs return to their places). A killed worker's
connections close, its lane queues lose their consumer, and the other
runners take them within a balance period or two.

Acks: a job is acked after its plugin returned (at-least-once). A failed
run stays unacked at its place and runs again after the backoff
(:mod:`.retries`), holding its instance's later jobs; a job that used its
attempts is published to the dead letters (confirmed) and then acked. A
runner that loses its connection after a plugin returned remembers the
job, and acks without running it again when the broker gives it back.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import select
import socket
import threading
import time
import zlib
from collections import OrderedDict
from typing import Any, Callable

from nova_hookspec._call.policy import describe_exception
from nova_hookspec._plugins.manager import NovaPluginManager
from nova_hookspec.deferred import retries
from nova_hookspec.deferred.brokers.rabbit import PREFETCH, Confirms, Rabbit, receipt
from nova_hookspec.deferred.jobs import Job
from nova_hookspec.deferred.lanes import Held, LaneOrder, kind_of
from nova_hookspec.deferred.settings import Settings
from nova_hookspec.deferred.worker import call_plugin

log = logging.getLogger("nova_hookspec.worker")

BALANCE_EVERY = 1.0
#: Job ids this process ran, remembered to ack a redelivery without running it.
REMEMBERED_DONE = 100_000


def deferred_plugins(pm: NovaPluginManager) -> list[str]:
    """The plugins with a deferred observer in ``pm``: whose lanes a worker runs."""
    return sorted({plugin for plugin, _hook in pm.deferred})


def _readable(conn: Any) -> bool:
    """Whether the broker sent something not read yet (no wait)."""
    sock = conn.connection.transport.sock
    pending = getattr(sock, "pending", None)  # TLS: bytes already decrypted
    if pending is not None and pending():
        return True
    return bool(select.select([sock], [], [], 0)[0])


def _run_key(message: dict[str, Any]) -> str:
    """A job's id and how often an operator sent it back from the dead letters."""
    return f"{message['id']}#{message.get('retried', 0)}"


class Shared:
    """What a worker's runners share: jobs done, attempts of jobs held."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.done: OrderedDict[str, None] = OrderedDict()
        self.attempts: dict[str, tuple[int, list[dict[str, Any]]]] = {}
        self.orders: dict[str, LaneOrder] = {}

    def ran(self, run_key: str) -> None:
        with self.lock:
            self.done[run_key] = None
            self.attempts.pop(run_key.rsplit("#", 1)[0], None)
            while len(self.done) > REMEMBERED_DONE:
                self.done.popitem(last=False)


class Runner:
    """One lane runner: a connection, its lane queues, one job at a time."""

    def __init__(self, name: str, rabbit: Rabbit, pm: NovaPluginManager, settings: Settings,
                 shared: Shared, stopping: threading.Event,
                 observe: Callable[[Job, float], None] | None = None) -> None:
        self.name = name
        self.rabbit = rabbit
        self.pm = pm
        self.settings = settings
        self.shared = shared
        self.stopping = stopping
        self.observe = observe
        self.plugins = deferred_plugins(pm)
        self.queues = rabbit.lanes_of(self.plugins)
        self.mine: dict[str, Any] = {}  # queue -> channel
        self._turn = 0
        self.confirms: Confirms
        self.finished = threading.Event()

    # ------------------------------------------------------------ the loop

    def run(self) -> None:
        backoff = 0.5
        try:
            while not self.stopping.is_set():
                try:
                    conn = self.rabbit.connect(confirms=False)
                except Exception as exc:  # noqa: BLE001 - broker away: try again
                    log.warning("lane runner %s: broker %s unreachable (%s); again in %.1f s",
                                self.name, self.rabbit.broker.shown, type(exc).__name__,
                                backoff)
                    self.stopping.wait(backoff)
                    backoff = min(30.0, backoff * 2)
                    continue
                backoff = 0.5
                try:
                    self._serve(conn)
                except Exception as exc:  # noqa: BLE001 - connection lost: start over
                    log.warning("lane runner %s lost the broker (%s: %s); its lanes go back",
                                self.name, type(exc).__name__, exc)
                    self.stopping.wait(0.5)
                finally:
                    self._forget_lanes()
                    with contextlib.suppress(Exception):  # closing a broken connection
                        conn.release()
        finally:
            self.finished.set()

    def _serve(self, conn: Any) -> None:
        self.confirms = self.rabbit.confirms(conn)
        control = self.confirms.channel
        self.rabbit.declare(control, self.plugins)
        control.basic_consume(self.rabbit.roll_call, no_ack=True, callback=lambda _m: None)
        next_balance = 0.0
        while not self.stopping.is_set():
            now = time.time()
            if now >= next_balance:
                self._balance(conn, control)
                next_balance = now + BALANCE_EVERY
            ran, wake = self._run_one()
            try:
                if not ran:  # wait for a delivery, a retry's time, or the next balance
                    conn.drain_events(timeout=max(0.001, min(next_balance, wake or next_balance)
                                                  - now))
                while _readable(conn):  # take what arrived, without waiting
                    conn.drain_events(timeout=1.0)
            except socket.timeout:
                pass
        self.confirms.wait()  # the receipts published so far are on the broker

    # ------------------------------------------------------------ the lanes

    def _order(self, queue: str) -> LaneOrder:
        with self.shared.lock:
            if queue not in self.shared.orders:
                self.shared.orders[queue] = LaneOrder(self.settings.create_wait)
            return self.shared.orders[queue]

    def _balance(self, conn: Any, control: Any) -> None:
        runners = max(1, self.rabbit.depth(control, self.rabbit.roll_call)[1])
        share = math.ceil(len(self.queues) / runners)
        while len(self.mine) > share:  # give back the lanes holding the fewest jobs
            self._give_back(min(self.mine, key=lambda q: len(self._order(q).held)))
        if len(self.mine) >= share:
            return
        start = zlib.crc32(self.name.encode()) % max(1, len(self.queues))
        for queue in self.queues[start:] + self.queues[:start]:
            if len(self.mine) >= share:
                return
            if queue in self.mine or self.rabbit.depth(control, queue)[1]:
                continue
            channel = conn.channel()
            try:
                channel.basic_qos(0, PREFETCH, False)
                channel.basic_consume(queue, exclusive=True,
                                      callback=lambda m, q=queue: self._delivered(q, m))
            except Exception as exc:  # another runner took it first: a channel error
                import amqp

                if not isinstance(exc, amqp.exceptions.ChannelError):
                    raise
                continue
            self.mine[queue] = channel
            self._read_receipts(conn, queue)
            log.info("lane runner %s took %s", self.name, queue)

    def _read_receipts(self, conn: Any, queue: str) -> None:
        """The creates that ran on ``queue`` before this runner took it."""
        if self.settings.create_wait <= 0:
            return
        channel = conn.channel()
        try:
            self._order(queue).saw_create(self.rabbit.read_receipts(channel, queue))
        finally:
            channel.close()  # the receipts stay for the next runner, until they expire

    def _give_back(self, queue: str) -> None:
        self.confirms.wait()  # this lane's receipts are there for its next holder
        channel = self.mine.pop(queue)
        self._order(queue).clear()
        channel.close()  # its unacked jobs go back to their places
        log.info("lane runner %s gave back %s", self.name, queue)

    def _forget_lanes(self) -> None:
        for queue in self.mine:
            self._order(queue).clear()
        self.mine.clear()

    def _delivered(self, queue: str, message: Any) -> None:
        body = json.loads(message.body)
        with self.shared.lock:
            seen = _run_key(body) in self.shared.done
            attempts, history = self.shared.attempts.get(body["id"], (0, []))
        if seen:  # done here before the ack was lost: ack it now, do not run it again
            if kind_of(body["hook"]) == "create":
                self._order(queue).saw_create(body["keys"])
                self._receipt(queue, body)  # it may have been lost with the connection
            self.mine[queue].basic_ack(message.delivery_tag)
            return
        self._order(queue).add(Held(message.delivery_tag, body, attempts, 0.0, False,
                                    list(history)))

    def _run_one(self) -> tuple[bool, float | None]:
        """Run one job that may run, taking the lanes in turn."""
        wake: float | None = None
        now = time.time()
        lanes = list(self.mine)
        self._turn = (self._turn + 1) % max(1, len(lanes))
        for queue in lanes[self._turn:] + lanes[:self._turn]:
            held, when = self._order(queue).next(now)
            if held is not None:
                self._run(queue, held)
                return True, None
            if when is not None:
                wake = when if wake is None else min(wake, when)
        return False, wake

    # ------------------------------------------------------------ one job

    def _run(self, queue: str, held: Held) -> None:
        m = held.message
        held.attempts += 1
        job = Job(m["number"], m["plugin"], m["hook"], m["payload"], held.attempts,
                  m["enqueued_at"], host=m["host"], history=held.history)
        held.running = True
        started = time.monotonic()
        try:
            call_plugin(self.pm, job)
        except Exception as exc:  # noqa: BLE001 - the retry policy decides
            self._failed(queue, held, exc)
        else:
            self.shared.ran(_run_key(m))
            self._order(queue).finished(held)
            if held.kind == "create":
                self._receipt(queue, m)
            self.mine[queue].basic_ack(held.tag)
            log.debug("deferred job %s (%s, %s) done, attempt %d", m["id"], m["plugin"],
                      m["hook"], held.attempts)
        finally:
            held.running = False
            if self.observe is not None:
                self.observe(job, time.monotonic() - started)

    def _receipt(self, queue: str, message: dict[str, Any]) -> None:
        """Say on the broker, for the lane's next holder, that this create ran: published
        before the create's ack and confirmed later (waiting for each confirm would wait
        for the broker's disk each time)."""
        if self.settings.create_wait > 0:
            self.confirms.publish(self.rabbit.receipts(queue), receipt(message["keys"]),
                                  expires=self.settings.create_wait)

    def _failed(self, queue: str, held: Held, exc: Exception) -> None:
        s, m = self.settings, held.message
        outcome = retries.after_failure(exc, held.attempts, s.max_attempts,
                                        s.retry_min_backoff, s.retry_max_backoff)
        error = describe_exception(exc)
        held.history = [*held.history, {"attempt": held.attempts, "at": time.time(),
                                        "error": error}][-20:]
        if outcome.dead:
            dead = {**m, "history": held.history, "died_at": time.time()}
            self.confirms.publish(self.rabbit.dead_queue, dead)
            self.confirms.wait()
            self.shared.ran(_run_key(m))
            self._order(queue).finished(held)
            self.mine[queue].basic_ack(held.tag)
            log.error("deferred job %s (%s, %s) is dead after %d attempt(s): %s", m["id"],
                      m["plugin"], m["hook"], held.attempts, error)
            return
        held.due = time.time() + outcome.delay
        with self.shared.lock:
            self.shared.attempts[m["id"]] = (held.attempts, held.history)
        log.warning("deferred job %s (%s, %s) failed, attempt %d of %d: %s; again in %.1f s, "
                    "holding its instance's later jobs", m["id"], m["plugin"], m["hook"],
                    held.attempts, s.max_attempts, error, outcome.delay)

    def holding(self) -> int:
        """Jobs this runner holds unacked now."""
        return sum(len(self._order(queue).held) for queue in list(self.mine))


class BrokerWorker:
    """``lanes`` runners over the broker's lane queues of ``pm``'s deferred plugins."""

    def __init__(self, rabbit: Rabbit, pm: NovaPluginManager, settings: Settings, *,
                 lanes: int = 1, grace: float = 30.0,
                 observe: Callable[[Job, float], None] | None = None) -> None:
        self.stopping = threading.Event()
        self.shared = Shared()
        name = f"{socket.gethostname()}:{os.getpid()}"
        self.runners = [Runner(f"{name}/{n}", rabbit, pm, settings, self.shared,
                               self.stopping, observe) for n in range(max(1, lanes))]
        self.grace = grace

    def start(self) -> None:
        for runner in self.runners:
            threading.Thread(target=runner.run, name=runner.name, daemon=True).start()

    def wait(self) -> bool:
        """After :meth:`stop`: wait up to the grace period; whether all runners ended."""
        deadline = time.monotonic() + self.grace
        for runner in self.runners:
            runner.finished.wait(max(0.0, deadline - time.monotonic()))
        return all(r.finished.is_set() for r in self.runners)

    def stop(self) -> None:
        self.stopping.set()

"""Which lanes a runner holds, and what it learns of a lane when it takes it.

Why a module of its own: holding lanes (who takes which, reading a lane's
record, giving a lane back with nothing left to say) is one concern; running
the jobs of the lanes held (:mod:`.consumer`) is another.

Sharing the lanes. Every runner also consumes the roll-call queue, so its
consumer count is the number of runners alive. Every ``BALANCE_EVERY``
seconds a runner works out its share, ``ceil(lane queues / runners)``:
below it, it takes lane queues that have no consumer; above it, it gives
one back (its unacked jobs return to their places). A killed worker's
connections close, its lane queues lose their consumer, and the other
runners take them within a balance period or two. A *stopped* worker's
connections are closed by the broker when its heartbeats stop, and a holder
that resumes records nothing of the run it was in (:mod:`.liveness`).

Taking a lane. A runner takes a lane queue as its *exclusive* consumer (one
holder in the whole cloud), then reads the lane's record
(:mod:`.lane_record`): the jobs that finished on it, the instances whose
delete or create finished. It compacts the record when that leaves fewer
messages, and again after :data:`.lane_record.COMPACT_AFTER` messages added.

Acks. A finished job is acked only once the broker confirmed its record's
message (:meth:`LaneHolder.settle`): the runner waits for the confirms of up
to :data:`ACK_BATCH` finished jobs at once, when it has nothing to run,
before it gives a lane back, and before it runs a delete whose instance's
create is among them (so that the create is known to have run before the
delete starts). A runner that loses its connection before a confirm leaves
those jobs unacked: they go back to their lane, and the next holder runs
again those whose record did not reach the broker.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import zlib
from collections.abc import Iterable
from typing import Any

from nova_hookspec.deferred import agreement
from nova_hookspec.deferred.brokers.rabbit import PREFETCH, Confirms, Rabbit
from nova_hookspec.deferred.execution import Execution
from nova_hookspec.deferred.lane_record import LaneRecord
from nova_hookspec.deferred.lanes import LaneOrder
from nova_hookspec.deferred.middleware.time_limit import Hung
from nova_hookspec.deferred.settings import Settings

log = logging.getLogger("nova_hookspec.worker")

BALANCE_EVERY = 1.0
#: Seconds between two looks for lanes of a host with a larger ``broker_lanes``.
COMPARE_EVERY = 60.0
#: Finished jobs a runner acks at most at once (after one wait for the confirms).
ACK_BATCH = 16


class Shared:
    """What a worker's runners share: attempts of jobs held, the lanes' order and record."""

    def __init__(self, execution: Execution | None = None) -> None:
        self.lock = threading.Lock()
        self.execution = execution
        self.hung = Hung()
        self.attempts: dict[str, tuple[int, list[dict[str, Any]]]] = {}
        self.orders: dict[str, LaneOrder] = {}
        #: Each lane's record, as read by its holder when it took the lane.
        self.records: dict[str, LaneRecord] = {}
        #: Plugins found with more lanes on the broker (logged once), next comparison.
        self.disagreed: set[str] = set()
        self.compare_at = 0.0


class LaneHolder:
    """A runner's lanes: taking them, their record, the acks, giving them back."""

    name: str
    rabbit: Rabbit
    settings: Settings
    shared: Shared
    plugins: list[str]

    def __init__(self) -> None:
        self.queues = self.rabbit.lanes_of(self.plugins)
        self.mine: dict[str, Any] = {}  # queue -> channel
        self.confirms: Confirms
        self.conn: Any = None
        #: Finished jobs whose record's message is not confirmed yet: (queue, tag).
        self.to_ack: list[tuple[str, int]] = []
        #: The instances of the creates among them.
        self.creates_to_ack: set[str] = set()
        #: The runs going on (:mod:`.lane_pool`): lane queue -> its job; never given back.
        self.running: dict[str, Any] = {}

    def _delivered(self, queue: str, message: Any) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------ one lane's state

    def _order(self, queue: str) -> LaneOrder:
        with self.shared.lock:
            if queue not in self.shared.orders:
                self.shared.orders[queue] = LaneOrder(self.settings.create_wait)
            return self.shared.orders[queue]

    def _record(self, queue: str) -> LaneRecord:
        with self.shared.lock:
            if queue not in self.shared.records:
                self.shared.records[queue] = LaneRecord(self.settings.create_wait)
            return self.shared.records[queue]

    # ------------------------------------------------------------ taking, giving back

    def _balance(self, conn: Any, control: Any) -> None:
        self._compare_lanes(conn)
        for queue in list(self.mine):
            if self._record(queue).due_for_compaction():
                self._read_record(conn, queue, fresh=False)
        runners = max(1, self.rabbit.depth(control, self.rabbit.roll_call)[1])
        share = math.ceil(len(self.queues) / runners)
        while len(self.mine) > share:  # give back the idle lanes holding the fewest jobs
            idle = [queue for queue in self.mine if queue not in self.running]
            if not idle:
                break  # every lane runs a job: at a later balance
            self._give_back(min(idle, key=lambda q: len(self._order(q).held)))
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
            self._read_record(conn, queue, fresh=True)
            log.info("lane runner %s took %s", self.name, queue)

    def _read_record(self, conn: Any, queue: str, fresh: bool) -> None:
        """Read ``queue``'s record from the broker (``fresh``: as the lane's new holder,
        forgetting what this process knew of it); compact it when that leaves fewer
        messages: the union again, one message per hour, confirmed, then the messages
        read acked."""
        channel = conn.channel()
        try:
            got = self.rabbit.read_record(channel, queue)
            now = time.time()
            record = LaneRecord(self.settings.create_wait) if fresh else self._record(queue)
            unreadable = sum(not record.fold(body, now) for _tag, body in got)
            if fresh:
                with self.shared.lock:
                    self.shared.records[queue] = record
                self._order(queue).saw_create(record.created_keys())
            hours = record.compacted(now)
            if unreadable or len(got) > len(hours):
                for message, expires in hours:
                    self.confirms.publish(self.rabbit.receipts(queue), message, expires)
                self.settle()  # the compacted record is on the broker: drop what it replaces
                channel.basic_ack(got[-1][0], multiple=True)
                log.info("lane runner %s compacted the record of %s: %d message(s) into %d%s",
                         self.name, queue, len(got), len(hours),
                         f" ({unreadable} unreadable, dropped)" if unreadable else "")
            record.added = 0
        finally:
            channel.close()  # what was not acked goes back, in its order

    def _compare_lanes(self, conn: Any) -> None:
        """Every ``COMPARE_EVERY`` seconds (one runner of the process): log once per
        plugin that some host has more lanes than this worker (:mod:`.agreement`)."""
        with self.shared.lock:
            if time.time() < self.shared.compare_at:
                return
            self.shared.compare_at = time.time() + COMPARE_EVERY
        for plugin in self.plugins:
            if plugin in self.shared.disagreed:
                continue
            problem = agreement.disagreement(self.rabbit, conn, plugin)
            if problem is not None:
                self.shared.disagreed.add(plugin)
                log.error("nova_hookspec worker: %s", problem)

    def _give_back(self, queue: str) -> None:
        self.settle()  # this lane's record is there for its next holder, its jobs acked
        channel = self.mine.pop(queue)
        self._order(queue).clear()
        with self.shared.lock:  # read again by whoever takes it
            self.shared.records.pop(queue, None)
        channel.close()  # its unacked jobs go back to their places
        log.info("lane runner %s gave back %s", self.name, queue)

    def _forget_lanes(self) -> None:
        """The connection is gone: its lanes, their unacked jobs with them, went back."""
        self.to_ack.clear()
        self.creates_to_ack.clear()
        self.running.clear()  # their outcomes, when they come, are dropped
        for queue in self.mine:
            self._order(queue).clear()
            with self.shared.lock:
                self.shared.records.pop(queue, None)
        self.mine.clear()

    # ------------------------------------------------------------ acks

    def ack_later(self, queue: str, tag: int, creates: Iterable[str] = ()) -> None:
        """Ack a finished job once the broker confirmed what was published about it."""
        self.to_ack.append((queue, tag))
        self.creates_to_ack.update(creates)
        if len(self.to_ack) >= ACK_BATCH:
            self.settle()

    def settle(self) -> None:
        """Wait for the broker to confirm every message this runner published (the
        lanes' records, the dead letters), then ack the jobs they are about."""
        self.confirms.wait()
        acks, self.to_ack = self.to_ack, []
        self.creates_to_ack.clear()
        for queue, tag in acks:
            channel = self.mine.get(queue)
            if channel is not None:
                channel.basic_ack(tag)

"""Deferred jobs on RabbitMQ: the names, the publishing, the dead letters.

Topology, per ``broker_prefix`` (``nova_hookspec`` by default), declared by
whoever comes first (relay, worker or CLI), all durable:

* exchange ``PREFIX`` (direct);
* ``broker_lanes`` lane queues per deferred plugin, ``PREFIX.lane.PLUGIN.K``,
  bound by their own name: a job goes to lane ``crc32(lane key) % lanes``,
  where the lane key is its first instance's UUID (every job of an instance
  shares a lane, whatever fields of it are empty);
* ``PREFIX.dead``: the dead letters, each with its history;
* ``PREFIX.receipts.PLUGIN.K`` beside each lane: the lane's record, what
  finished on it (the jobs, the deletes' and the creates' instances), which
  only the lane's holder writes and reads when it takes the lane
  (:mod:`nova_hookspec.deferred.lane_record` says why and for how long);
* ``PREFIX.workers``: a roll call, never published to; its consumer count
  is how many worker lanes are alive, from which each lane works out its
  share of the lane queues (:mod:`nova_hookspec.deferred.consumer`).

The lane queues are classic durable queues, not quorum queues: a classic
queue gives a message that was delivered but not acked back at its old
place when its consumer goes away, while a quorum queue puts it behind the
messages already prefetched, which would break the order of one instance's
jobs on every failover. Messages are persistent (``delivery_mode=2``) and
published with publisher confirms: :meth:`Rabbit.publish` returns only once
the broker has the message.

kombu and py-amqp are used directly (they are what oslo.messaging drives):
oslo.messaging's notifier gives no confirm for one message, declares no
queue arguments, and its listener has no exclusive consumer, nor an ack
after a retry held in place.
"""

from __future__ import annotations

import importlib
import json
import socket
import time
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import Any

from nova_hookspec.deferred import transport, unreadable
from nova_hookspec.deferred.settings import Settings
from nova_hookspec.deferred.transport import Broker

#: Messages a lane's consumer may hold unacked: what lets one instance's
#: held jobs wait while other instances' jobs of the lane run. It bounds how
#: many jobs of one lane can be held up at once (deletes waiting for a create
#: still on its way, retries in place) before the jobs behind them, their
#: creates included, stop reaching the runner: 64 was passed by a burst of 75
#: deletes a lane relayed seconds before their creates. A held message costs
#: its size in the worker's memory (a few KiB).
PREFETCH = 1000
#: AMQP heartbeat (seconds) asked for by the runners' and relays' connections:
#: RabbitMQ closes a connection it heard nothing from for two intervals, which
#: frees a stopped worker's lanes (:mod:`nova_hookspec.deferred.liveness`).
HEARTBEAT = 10.0


def configured(settings: Settings) -> Rabbit | None:
    """The broker side of ``settings`` (its prefix and lanes), or ``None`` when no
    broker is configured (the one-host journal).

    :raises ValueError: ``broker`` is true without a transport URL, or not RabbitMQ.
    """
    where = transport.broker(settings)
    if where is None:
        return None
    return Rabbit(where, settings.broker_prefix, settings.broker_lanes)


class BrokerUnreachableError(ConnectionError):
    """The broker cannot be reached (its address is said, never its credentials)."""


def why_unreachable(broker: Broker, exc: BaseException) -> str:
    """What a log line says of a lost or refused connection: the cause, when known."""
    if isinstance(exc, BrokerUnreachableError):
        return str(exc)  # "broker rabbit://host:port/vhost: login refused for user ..."
    return f"broker {broker.shown} unreachable ({type(exc).__name__})"


def lane_number(lane_key: str, lanes: int) -> int:
    return zlib.crc32(lane_key.encode()) % lanes


class Rabbit:
    """The broker's side of the deferred jobs for one ``prefix``."""

    def __init__(self, broker: Broker, prefix: str = "nova_hookspec", lanes: int = 8) -> None:
        self.broker = broker
        self.prefix = prefix
        self.lanes = lanes
        self.dead_queue = f"{prefix}.dead"
        self.roll_call = f"{prefix}.workers"

    def __repr__(self) -> str:
        return f"Rabbit({self.broker.shown}, prefix={self.prefix!r})"

    # ------------------------------------------------------------ names

    def lane(self, plugin: str, k: int) -> str:
        return f"{self.prefix}.lane.{plugin}.{k}"

    def lane_for(self, plugin: str, lane_key: str) -> str:
        return self.lane(plugin, lane_number(lane_key, self.lanes))

    def plugin_of(self, lane: str) -> str:
        """The plugin of lane queue ``lane`` (the name between the prefix and ``.K``)."""
        return lane[len(f"{self.prefix}.lane."):].rsplit(".", 1)[0]

    def receipts(self, lane: str) -> str:
        return lane.replace(f"{self.prefix}.lane.", f"{self.prefix}.receipts.", 1)

    def lanes_of(self, plugins: list[str]) -> list[str]:
        return [self.lane(plugin, k) for plugin in sorted(plugins) for k in range(self.lanes)]

    # ------------------------------------------------------------ connections

    def connect(self, timeout: float = 5.0, confirms: bool = True,
                heartbeat: float = 0) -> Any:
        """A new kombu connection, connected (or raises :class:`BrokerUnreachableError`).

        :param confirms: every publish waits for its confirm (the CLI's); the relay
            and the workers publish through :class:`Confirms` instead.
        :param heartbeat: AMQP heartbeat in seconds (0: none, a command's short
            connection); its owner calls ``heartbeat_check()`` at least every second."""
        kombu: Any = importlib.import_module("kombu")  # the rabbit extra: imported late

        conn = kombu.Connection(";".join(self.broker.urls), ssl=self.broker.ssl,
                                connect_timeout=timeout, heartbeat=heartbeat,
                                transport_options={"confirm_publish": confirms},
                                failover_strategy="round-robin")
        try:
            conn.ensure_connection(max_retries=1)
        except Exception as exc:  # noqa: BLE001 - kombu's and the socket's errors alike
            conn.release()
            raise BrokerUnreachableError(f"broker {self.broker.shown}: "
                                         f"{self.broker.cause(exc)}") from None
        return conn

    def declare(self, channel: Any, plugins: Sequence[str] = ()) -> None:
        """The exchange, the dead letters, the roll call and ``plugins``' lanes."""
        channel.exchange_declare(self.prefix, "direct", durable=True, auto_delete=False)
        lanes = self.lanes_of(list(plugins))
        for name in (self.dead_queue, *lanes, *map(self.receipts, lanes)):
            channel.queue_declare(name, durable=True, auto_delete=False)
            channel.queue_bind(name, self.prefix, routing_key=name)
        channel.queue_declare(self.roll_call, durable=False, auto_delete=False)

    def publish(self, channel: Any, queue: str, message: Mapping[str, Any],
                expires: float | None = None) -> None:
        """Publish ``message`` to ``queue``; returns once the broker confirmed it.

        :param expires: seconds after which the broker drops it (unread)."""
        import amqp

        body = json.dumps(message, separators=(",", ":"))
        more = {} if expires is None else {"expiration": str(max(1, int(expires * 1000)))}
        channel.basic_publish(
            amqp.Message(body, delivery_mode=2, content_type="application/json",
                         message_id=message["id"], **more),
            exchange=self.prefix, routing_key=queue, mandatory=True)

    def read_record(self, channel: Any, lane: str) -> list[tuple[int, Any]]:
        """Every message of ``lane``'s record (:mod:`nova_hookspec.deferred.lane_record`),
        as (delivery tag, body), got and not acked: acking them on ``channel`` removes
        them (a compaction), closing ``channel`` puts them back in their order."""
        found: list[tuple[int, Any]] = []
        while True:
            got = channel.basic_get(self.receipts(lane), no_ack=False)
            if got is None:
                return found
            found.append((got.delivery_tag, got.body))

    def confirms(self, conn: Any) -> Confirms:
        """A channel of ``conn`` in confirm mode, to publish in batches."""
        return Confirms(self, conn)

    @contextmanager
    def channel(self) -> Iterator[Any]:
        """A channel on a connection of its own (the CLI's), closed afterwards;
        messages got and not acked go back to their queue in their order."""
        conn = self.connect()
        try:
            channel = conn.channel()
            self.declare(channel)
            yield channel
        finally:
            conn.release()

    # ------------------------------------------------------------ operating it

    def depth(self, channel: Any, queue: str) -> tuple[int, int]:
        """(messages ready, consumers) of ``queue`` (0, 0 when it does not exist)."""
        try:
            found = channel.queue_declare(queue, passive=True)
        except Exception:  # noqa: BLE001 - no such queue yet: nothing in it
            return 0, 0
        return int(found.message_count), int(found.consumer_count)

    def status(self, plugins: list[str]) -> dict[str, Any]:
        with self.channel() as channel:
            lanes = []
            for plugin in sorted(plugins):
                for k in range(self.lanes):
                    ready, consumers = self.depth(channel, self.lane(plugin, k))
                    lanes.append({"queue": self.lane(plugin, k), "plugin": plugin,
                                  "ready": ready, "consumers": consumers})
            dead, _ = self.depth(channel, self.dead_queue)
            workers = self.depth(channel, self.roll_call)[1]
        return {"broker": self.broker.shown, "prefix": self.prefix,
                "queued": sum(lane["ready"] for lane in lanes), "dead": dead,
                "worker_lanes": workers, "lanes": lanes}

    def _dead_messages(self, channel: Any, limit: int) -> list[tuple[int, dict[str, Any]]]:
        found = []
        for _ in range(limit):
            got = channel.basic_get(self.dead_queue, no_ack=False)
            if got is None:
                break
            found.append((got.delivery_tag, _dead_letter_of(self.dead_queue, got.body)))
        return found

    def dead(self, limit: int = 100) -> list[dict[str, Any]]:
        """The dead letters, oldest first (looked at, left in place)."""
        with self.channel() as channel:
            return [_listed(message) for _tag, message in self._dead_messages(channel, limit)]

    def retry(self, job_id: str | None = None, limit: int = 100_000) -> int:
        """Send a dead job (or all of them) back to its lane, attempts from 0."""
        count = 0
        with self.channel() as channel:
            for tag, message in self._dead_messages(channel, limit):
                if (job_id is not None and message["id"] != job_id) or "unreadable" in message:
                    continue  # an unreadable message has no job to run: drop it
                message["retried"] = message.get("retried", 0) + 1
                message["history"] = []
                self.declare(channel, [message["plugin"]])
                self.publish(channel, self.lane_for(message["plugin"], message["lane"]),
                             message)
                channel.basic_ack(tag)
                count += 1
        return count

    def drop(self, job_id: str) -> int:
        """Forget a dead job."""
        with self.channel() as channel:
            for tag, message in self._dead_messages(channel, 100_000):
                if message["id"] == job_id:
                    channel.basic_ack(tag)
                    return 1
        return 0


class Confirms:
    """Publishing in batches with publisher confirms: :meth:`publish` each message,
    then :meth:`wait` once for the broker to confirm them all.

    One confirm per message would wait, each time, for the broker to write the
    message to disk (it does so every few milliseconds); a batch waits once.
    """

    def __init__(self, rabbit: Rabbit, conn: Any) -> None:
        self.rabbit = rabbit
        self.conn = conn
        self.channel = conn.channel()
        self.channel.confirm_select()
        self.channel.events["basic_ack"].add(self._acked)
        self.channel.events["basic_nack"].add(self._nacked)
        self._sent = 0
        self._unconfirmed: set[int] = set()
        self._refused = 0

    def _acked(self, tag: int, multiple: bool) -> None:
        if multiple:
            self._unconfirmed = {t for t in self._unconfirmed if t > tag}
        else:
            self._unconfirmed.discard(tag)

    def _nacked(self, tag: int, multiple: bool) -> None:
        self._refused += 1
        self._acked(tag, multiple)

    def publish(self, queue: str, message: Mapping[str, Any],
                expires: float | None = None) -> None:
        self.rabbit.publish(self.channel, queue, message, expires)
        self._sent += 1
        self._unconfirmed.add(self._sent)

    def wait(self, timeout: float = 30.0) -> None:
        """Return once every message published so far is confirmed.

        :raises ConnectionError: the broker refused one, or did not confirm in time.
        """
        deadline = time.monotonic() + timeout
        while self._unconfirmed:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ConnectionError(f"{len(self._unconfirmed)} message(s) not confirmed "
                                      f"within {timeout} s")
            with suppress(socket.timeout):
                self.conn.drain_events(timeout=min(left, 1.0))
        if self._refused:
            self._refused = 0
            raise ConnectionError("the broker refused (nack) a message")


def _dead_letter_of(queue: str, body: bytes | str) -> dict[str, Any]:
    """A dead letter as published here, or, for anything else found in the dead letters
    (a hand-made or damaged message), an unreadable one that can be listed and dropped:
    one such message never stops the commands from reaching the others."""
    try:
        text = body.decode("utf-8") if isinstance(body, (bytes, bytearray)) else body
        message = json.loads(text)
    except ValueError as exc:  # UnicodeDecodeError included
        return unreadable.dead_letter(queue, "", body, f"not UTF-8 JSON ({exc})")
    except RecursionError:  # nested deeper than json's parser recurses
        return unreadable.dead_letter(queue, "", body, "JSON nested too deep to read")
    fields: dict[str, type | tuple[type, ...]] = {"id": str, "plugin": str, "hook": str,
                                                  "enqueued_at": (int, float)}
    if not isinstance(message, dict) or any(
            not isinstance(message.get(name), kind) for name, kind in fields.items()):
        return unreadable.dead_letter(queue, "", body, "not a dead letter's shape")
    return message


def _listed(message: dict[str, Any]) -> dict[str, Any]:
    """A dead letter as ``deferred list --dead --json`` shows it (no arguments)."""
    return {"id": message["id"], "plugin": message["plugin"], "hook": message["hook"],
            "state": "dead", "attempts": len(message.get("history", [])),
            "enqueued_at": message["enqueued_at"], "due_at": None,
            "history": message.get("history", [])}

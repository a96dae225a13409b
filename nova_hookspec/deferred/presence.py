"""What each relay and worker says of itself on the broker: its settings, what it holds.

Across hosts, settings that disagree and jobs held by a lane runner were
silent: a host with another ``broker_lanes`` published to lanes nobody
consumed, a plugin deferred on the API host but run by no worker left its
jobs waiting for ever, and the jobs a runner held unacked (a delete waiting
for its create, a retry in place, a job waiting its turn) were in no
command's output, as RabbitMQ shows another connection's unacked messages
to nobody.

So every ``nova-hookspec worker`` process with a broker (a relay, lane
runners, or both) *announces* itself: every :data:`EVERY` seconds a small
thread with its own connection publishes a record to the queue
``PREFIX.presence``, whose messages expire after :data:`TTL` seconds (a
queue-wide ``x-message-ttl``, so they expire in order and the queue holds a
few records per live process). A record names the process (``host:pid``),
its roles, its ``broker_lanes``, the deferred plugins it relays and those it
runs, the version, and, for lane runners, every job they hold with why and
since when (:func:`holding`; ids, plugins, hooks and times, never
arguments). Nothing is lost with it: it says, it decides nothing, and a
broker restart empties it for :data:`EVERY` seconds at most.

Readers (:func:`read`) take every record without acking, keep the latest
of each process, and give them back by closing their channel:

* a worker or relay starting (:func:`refusal`) compares its
  ``broker_lanes`` with the live *workers'* records, and refuses to start
  (exit status 1) naming the setting, both values and the other host: a
  relay refused keeps its jobs in its outbox, where they wait safely until
  the setting is fixed, instead of publishing them to lanes no worker runs;
  a worker refused leaves the lanes to the workers that agree. The workers
  are the reference because they are the ones that consume the lanes; a
  relay that started before any worker looks again every
  :data:`LOOK_EVERY` seconds, and holds its jobs in its outbox while a live
  worker's value differs (:meth:`.relay.Relay.hold`);
* ``nova-hookspec check`` (:mod:`.health`) and ``deferred status`` compare
  this host's settings and deferred plugins with the records
  (:func:`problems`, :func:`unrun`);
* ``deferred status`` and ``deferred list`` show the jobs held.

A message one reader holds unacked is not delivered to another, so two
readers at the same moment would each see part of the records: a read
looks :data:`PASSES` times, up to :data:`PASS_GAP` seconds apart, and joins what it saw. To change ``broker_lanes`` everywhere, stop every relay
and worker, wait :data:`TTL` seconds, and start them with the new value.

Defaults: a record every :data:`EVERY` seconds, kept :data:`TTL` seconds.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import threading
import time
from typing import Any, Callable

from nova_hookspec.deferred.reconnect import Backoff, connections

log = logging.getLogger("nova_hookspec.worker")

#: Seconds between two records of one process.
EVERY = 2.0
#: Seconds a record is kept by the broker (queue-wide ``x-message-ttl``).
TTL = 20.0
#: Seconds between two looks of a running relay at the workers' records.
LOOK_EVERY = 30.0
#: Looks of one read, about :data:`PASS_GAP` seconds apart, their records joined:
#: the records another reader holds at one look are back at the next. The gap is
#: drawn anew each time (between half and all of it): two readers that started
#: together (two workers of one host) would otherwise meet at every look.
PASSES = 3
PASS_GAP = 0.25
#: Records read at most by one look (a few per live process).
MOST = 10_000


def version() -> str:
    """This installation's version, as its records say it."""
    from importlib import metadata

    try:
        return metadata.version("nova-hookspec")
    except metadata.PackageNotFoundError:  # a source tree not installed
        return "unknown"


def queue(rabbit: Any) -> str:
    return f"{rabbit.prefix}.presence"


def declare(rabbit: Any, channel: Any) -> None:
    """The presence queue (bound by its own name, like the lanes)."""
    name = queue(rabbit)
    channel.exchange_declare(rabbit.prefix, "direct", durable=True, auto_delete=False)
    channel.queue_declare(name, durable=True, auto_delete=False,
                          arguments={"x-message-ttl": int(TTL * 1000)})
    channel.queue_bind(name, rabbit.prefix, routing_key=name)


def read(rabbit: Any, conn: Any) -> list[dict[str, Any]]:
    """The latest record of each live process, oldest first; the records stay on the
    broker (got without ack on a channel of ``conn`` that is then closed)."""
    latest: dict[str, dict[str, Any]] = {}
    for look in range(PASSES):  # another reader's records are back for the next look
        if look:
            time.sleep(random.uniform(PASS_GAP / 2, PASS_GAP))
        channel = conn.channel()
        try:
            declare(rabbit, channel)
            for _ in range(MOST):
                got = channel.basic_get(queue(rabbit), no_ack=False)
                if got is None:
                    break
                with contextlib.suppress(ValueError, TypeError, KeyError, AttributeError,
                                         RecursionError):
                    record = json.loads(got.body)
                    name = str(record["name"])
                    if name not in latest or record["at"] >= latest[name]["at"]:
                        latest[name] = record
        finally:
            with contextlib.suppress(Exception):  # the records go back to the queue
                channel.close()
    now = time.time()
    return sorted((r for r in latest.values() if now - float(r["at"]) <= TTL),
                  key=lambda r: float(r["at"]))


def _workers(records: list[dict[str, Any]], but: str = "") -> list[dict[str, Any]]:
    return [r for r in records if "worker" in r.get("roles", ()) and r["name"] != but]


def lane_problem(lanes: int, host: str, records: list[dict[str, Any]],
                 but: str = "") -> str | None:
    """One line naming ``broker_lanes``, this value and another worker's (and its
    host), or ``None`` when every live worker (but ``but``) has ``lanes``."""
    for record in _workers(records, but):
        if int(record.get("broker_lanes", lanes)) != lanes:
            return (f"broker_lanes is {lanes} here (host {host}), but "
                    f"{record['broker_lanes']} on host {record['host']} (worker "
                    f"{record['name']}); set the same broker_lanes on every host")
    return None


def unrun(plugins: list[str], records: list[dict[str, Any]]) -> list[str]:
    """The ``plugins`` no live worker runs."""
    run = {plugin for record in _workers(records) for plugin in record.get("runs", ())}
    return [plugin for plugin in plugins if plugin not in run]


def problems(lanes: int, host: str, relayed: list[str],
             records: list[dict[str, Any]]) -> list[str]:
    """What ``check`` says of this host against the broker's records: another
    ``broker_lanes``, plugins deferred here that no worker runs."""
    found = []
    lane = lane_problem(lanes, host, records, but="")
    if lane is not None:
        found.append(lane)
    for plugin in unrun(relayed, records):
        found.append(f"no worker runs plugin {plugin}, deferred here (host {host}): its jobs "
                     "wait on the broker; install and enable it on a worker host")
    return found


def refusal(rabbit: Any, host: str) -> str | None:
    """Why this process must not start (its ``broker_lanes`` differs from a live
    worker's), or ``None``; ``None`` too when the broker cannot be reached (the
    relay and the runners wait for it as always)."""
    try:
        conn = rabbit.connect()
    except Exception:  # noqa: BLE001 - unreachable: nothing to compare with yet
        return None
    try:
        return lane_problem(rabbit.lanes, host, read(rabbit, conn))
    except Exception:  # noqa: BLE001 - a broker that goes away meanwhile: as above
        return None
    finally:
        with contextlib.suppress(Exception):
            conn.release()


# ------------------------------------------------------------ what runners hold

class Since:
    """When each held job entered the state it is in (the first look that saw it)."""

    def __init__(self) -> None:
        self.first: dict[tuple[str, str], float] = {}

    def of(self, job_id: str, why: str, now: float) -> float:
        return self.first.setdefault((job_id, why), now)

    def keep(self, seen: set[tuple[str, str]]) -> None:
        self.first = {key: at for key, at in self.first.items() if key in seen}


def holding(runners: list[Any], since: Since, now: float) -> list[dict[str, Any]]:
    """Every job ``runners`` hold unacked, with why and since when."""
    found: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for runner in runners:
        for lane in list(runner.mine):
            order = runner._order(lane)
            busy: set[str] = set()
            for held in list(order.held):
                message = held.message
                if held.running:
                    why = "running"
                elif held.due > now:
                    why = "retrying in place"
                elif held.keys & busy:
                    why = "waiting its turn (an earlier job of its instance)"
                elif order.waits_for_create(held, now):
                    why = "waiting for its create"
                else:
                    why = "waiting its turn"
                if why != "waiting its turn":
                    busy |= held.keys
                job_id = str(message.get("id"))
                seen.add((job_id, why))
                found.append({
                    "id": job_id, "plugin": message.get("plugin"), "hook": message.get("hook"),
                    "state": "held", "why": why, "since": since.of(job_id, why, now),
                    "attempts": held.attempts, "enqueued_at": message.get("enqueued_at"),
                    "due_at": held.due if why == "retrying in place" else None,
                    "runner": runner.name, "lane": lane, "history": held.history[-3:]})
    since.keep(seen)
    return found


def ready(conn: Any, lanes: dict[str, int], most: int = 100) -> list[dict[str, Any]]:
    """The jobs ready in ``lanes`` (name: jobs ready) that no runner consumes (up to
    ``most`` each),
    looked at and left at their places: this command takes each such lane as its
    exclusive consumer for the look (so no runner takes it meanwhile and gets
    later jobs first), then closes the channel, which puts them back in order."""
    import socket

    found: list[dict[str, Any]] = []
    for lane, count in lanes.items():
        channel = conn.channel()
        got: list[Any] = []
        try:
            channel.basic_qos(0, most, False)
            channel.basic_consume(lane, exclusive=True, callback=got.append)
            deadline = time.monotonic() + 2.0
            while len(got) < min(count, most) and time.monotonic() < deadline:
                with contextlib.suppress(socket.timeout):
                    conn.drain_events(timeout=0.1)
        except Exception:  # noqa: BLE001 - a runner holds it now: its jobs are held
            got = []
        finally:
            with contextlib.suppress(Exception):
                channel.close()
        for message in got:
            with contextlib.suppress(ValueError, TypeError, AttributeError, RecursionError):
                job = json.loads(message.body)
                found.append({"id": str(job.get("id")), "plugin": job.get("plugin"),
                              "hook": job.get("hook"), "state": "ready",
                              "why": "no lane runner holds its lane",
                              "since": job.get("relayed_at"), "attempts": 0,
                              "enqueued_at": job.get("enqueued_at"), "due_at": None,
                              "runner": None, "lane": lane,
                              "history": list(job.get("history") or ())[-3:]})
    return found


class Announcer:
    """Publishes ``record()`` every :data:`EVERY` seconds on a connection of its own,
    until :meth:`stop`; reconnects when the broker goes away."""

    def __init__(self, rabbit: Any, record: Callable[[], dict[str, Any]],
                 look: Callable[[list[dict[str, Any]]], None] | None = None) -> None:
        self.rabbit = rabbit
        self.record = record
        #: Called with the live records every :data:`LOOK_EVERY` seconds (a relay's).
        self.look = look
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="presence", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()

    def _run(self) -> None:
        import amqp

        for conn in connections(lambda: self.rabbit.connect(confirms=False), self.stopping,
                                Backoff(EVERY, EVERY), lambda _exc, _wait: None):
            # a broker away: the relay and the runners say it already
            try:
                channel = conn.channel()
                declare(self.rabbit, channel)
                next_look = 0.0
                while not self.stopping.is_set():
                    if self.look is not None and time.monotonic() >= next_look:
                        next_look = time.monotonic() + LOOK_EVERY
                        self.look(read(self.rabbit, conn))
                    body = json.dumps(self.record(), separators=(",", ":"))
                    channel.basic_publish(amqp.Message(body, content_type="application/json"),
                                          exchange=self.rabbit.prefix,
                                          routing_key=queue(self.rabbit))
                    self.stopping.wait(EVERY)
            except Exception as exc:  # noqa: BLE001 - connection lost: again
                log.debug("presence: %s: %s", type(exc).__name__, exc)
                self.stopping.wait(EVERY)

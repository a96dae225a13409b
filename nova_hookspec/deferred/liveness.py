"""Why a stopped worker holds no lane, and records nothing once it lost one.

A lane has one holder: the exclusive consumer of its queue (:mod:`.consumer`).
The broker frees the lane only when that consumer's connection closes. A
worker that is *stopped* rather than killed (SIGSTOP, a frozen VM, a paused
container, a long GC pause) keeps its TCP connections open, so without more
the broker would keep its lanes, and its place in the roll call, for ever.

The broker's own mechanism closes such a connection: AMQP heartbeats. Every
runner's and relay's connection asks for :data:`~.brokers.rabbit.HEARTBEAT`
seconds; RabbitMQ closes a connection from which it heard nothing for about
two heartbeat intervals. So a stopped worker's connections close, its lanes
and its roll-call places go, and the live runners take the lanes at their
next balance (:data:`~.consumer.BALANCE_EVERY`).

A live runner keeps its heartbeats going while plugins run for minutes:
the plugins run in the lane pool's threads (:mod:`.lane_pool`), and the
runner's own thread, the only one that touches its connection, goes round
its loop at least once a second and sends them there.

Fencing. A stopped holder may resume after the broker gave its lane to
another runner, in the middle of a plugin call. Its plugin's code finishes,
but its outcome must not count: :func:`fence` reads the connection before
the runner records anything (an ack, a receipt, a dead letter, a retry, a
"done" in its memory) with a round trip to the broker on that connection; a
connection the broker closed raises there, and
:class:`LostLane` carries the runner past its job's outcome to a new
connection. Its ack or receipt could not have reached the broker anyway
(the broker dropped that connection); what fencing adds is that the process
remembers nothing of the run and logs that the outcome was dropped.

Nor does a resumed holder *start* anything before the broker answers: the
jobs it held in memory (taken before it stopped, not yet started) went back
to their lanes with its connection and ran elsewhere, deletes after them;
started now, a create would run after its delete finished. So a runner
whose loop stood still for more than :data:`STALL` seconds beyond its wait
fences before its next start (:meth:`.consumer.Runner._serve`). A run
already handed to its execution thread when the process stopped, its plugin
not yet called, is held at a :class:`StartGate`: handed over more than
:data:`STALL` seconds before, it starts only once the runner's thread made
that round trip after it asked, and not at all if the connection went
meanwhile (its lane's next holder runs it). The gate is asked in the thread
that calls the plugin, just before the call (:class:`.middleware.time_limit.Caller`):
what remains is the tail of a plugin call the stop interrupted.

On one host there is no broker to ask: a job's lease names its worker
(``HOST:PID@PIDNS``), and :func:`alive_on_this_host` asks the kernel whether
that process still runs, in its own PID namespace only (a container on the
host network with the same host name is taken for alive: its jobs wait out
their lease).
"""

from __future__ import annotations

import os
import select
import socket
import threading
import time
from typing import Any, Callable


def readable(conn: Any) -> bool:
    """Whether the broker sent something not read yet (no wait)."""
    sock = conn.connection.transport.sock
    pending = getattr(sock, "pending", None)  # TLS: bytes already decrypted
    if pending is not None and pending():
        return True
    return bool(select.select([sock], [], [], 0)[0])


def drain(conn: Any) -> None:
    """Read what the broker sent (heartbeats, deliveries, confirms), without waiting:
    a closed connection raises here."""
    while readable(conn):
        try:
            conn.drain_events(timeout=0.05)
        except socket.timeout:  # only heartbeats came: drain_events waits for a method
            return


#: Seconds a runner's loop may take beyond its planned wait before it asks the broker
#: whether it still holds its lanes (a fence: one round trip).
STALL = 1.0


class LostLane(BaseException):
    """The runner's connection closed while a job ran: the lane has (or will have)
    another holder, and this run's outcome is not recorded.

    A :class:`BaseException`, so that no plugin failure handling (``except
    Exception``) records it as the job's failure."""


def fence(conn: Any, channel: Any, queue: str) -> None:
    """Raise :class:`LostLane` unless the broker still has ``conn``: read what it sent
    meanwhile, check the heartbeats, then ask it about ``queue`` on ``channel`` (a
    channel of ``conn``) and wait for the answer. Reading alone is not enough: a
    resumed process may find only the heartbeats buffered before the broker closed
    the connection; a round trip fails on a connection the broker closed."""
    try:
        drain(conn)
        conn.heartbeat_check()
        channel.queue_declare(queue, passive=True)
    except Exception as exc:  # noqa: BLE001 - whatever closed it, the lane is gone
        raise LostLane(f"{type(exc).__name__}: {exc}") from None


class StartGate:
    """Whether a run handed to an execution thread may still start: its lanes are
    still those of the connection it was handed over on.

    The runner's thread hands a run over with :meth:`admission` and counts its
    connections (:attr:`generation`, one more at each :meth:`lost`). The execution
    thread asks the admission just before the plugin's call. A run that waited less
    than :data:`STALL` seconds starts if the connection is the same; one that waited
    longer (the process was stopped between the two) asks the runner's thread for a
    fence (``wake``, then :meth:`wanted` in its loop) and waits for a fence begun
    after it asked (:meth:`fenced`) or the connection's end (:meth:`lost`, which
    every way out of the runner's connection reaches): no patience, since a run
    started without that answer is the very case the gate is for."""

    def __init__(self, wake: Callable[[], None]) -> None:
        self._wake = wake
        self._cond = threading.Condition()
        #: The runner's connections so far: a run starts on the one it was handed on.
        self.generation = 0
        self._fenced_since = 0.0  # the start of the latest fence the broker answered
        self._asked_at = 0.0  # the latest ask of a held run

    def admission(self, since: float | None = None) -> Callable[[], bool]:
        """For a run handed over now: whether it may start, asked just before it does.

        :param since: when the runner last knew it had not stood still (monotonic;
            now by default): the run's wait is counted from there."""
        generation = self.generation
        handed = time.monotonic() if since is None else since
        return lambda: self._may_start(generation, handed)

    def _may_start(self, generation: int, handed: float) -> bool:
        asked = time.monotonic()
        if asked - handed <= STALL:
            return generation == self.generation
        with self._cond:
            self._asked_at = max(self._asked_at, asked)
        self._wake()  # once wanted() says so, outside the gate's lock
        with self._cond:
            while generation == self.generation and self._fenced_since < asked:
                self._cond.wait()
            return generation == self.generation

    def wanted(self) -> bool:
        """Whether a held run waits for a fence (the runner's thread, each round)."""
        return self._asked_at > self._fenced_since

    def fence(self, conn: Any, channel: Any, queue: str, since: float | None = None) -> None:
        """:func:`fence` (raises :class:`LostLane`), then :meth:`fenced`: every fence the
        broker answered opens the gate to the runs that asked before ``since`` (when
        the fence began, by default; earlier, for a look begun before it)."""
        began = time.monotonic() if since is None else since
        fence(conn, channel, queue)
        self.fenced(began)

    def fenced(self, since: float) -> None:
        """The broker answered a fence begun at ``since`` (monotonic): the runs that
        asked before it start."""
        with self._cond:
            self._fenced_since = max(self._fenced_since, since)
            self._cond.notify_all()

    def lost(self) -> None:
        """The connection is gone: no run handed over on it starts."""
        with self._cond:
            self.generation += 1
            self._asked_at = 0.0
            self._cond.notify_all()


# ------------------------------------------------------------ one host

def pid_namespace() -> str:
    """This process's PID namespace (its inode), ``""`` where it cannot be read."""
    try:
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return ""


def alive_on_this_host(worker: str) -> bool:
    """Whether the worker named ``worker`` (``HOST:PID@PIDNS``) may still run.

    A PID means something only in its own PID namespace: a worker of another one
    (a container on the host network with the same host name) cannot be asked, so
    it is taken for alive and its jobs wait for their lease to run out."""
    pid, _, namespace = worker.rsplit(":", 1)[1].partition("@")
    if namespace != pid_namespace():
        return True
    try:
        os.kill(int(pid.split("/")[0]), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True
    return True

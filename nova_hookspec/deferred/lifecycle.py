"""One lifecycle for both workers: start, SIGTERM with grace, drain, stop, exit status.

Why one module. The one-host worker (:mod:`.worker`) and the worker across
hosts (:mod:`.service`) each had their own stop event, signal handlers,
wait for the running jobs, "stopped" line and exit codes, and they had
drifted apart (across hosts the lane runners went on taking jobs while the
relay finished its batch, and got a second grace period after it). Here is
what the two share; an *engine* says only what differs: how it starts, when
it has nothing left, how its running jobs end and what it gives back.

The lifecycle, for either engine:

* start (:meth:`Engine.start`): the engine checks what it must (a plugin's
  policy values, the hosts' agreement) and starts its threads, or refuses
  with :class:`Refused` (its line logged, its exit status returned);
* then, every :attr:`Engine.tick` seconds until stopped: with ``drain``, it
  stops once :meth:`Engine.drained` said so :attr:`Engine.calm` times in a
  row; an engine whose threads all ended (:meth:`Engine.ended`) cannot go
  on;
* SIGTERM or SIGINT (:meth:`Lifecycle.handle_signals`), :meth:`Lifecycle.stop`,
  or :meth:`Lifecycle.cannot_go_on`: the engine stops taking jobs at once
  (:meth:`Engine.halt`), its running jobs get ``grace`` seconds, one
  deadline for all of it (:meth:`Engine.finish`), then the rest is given
  back; one ``stopped`` line.

Exit status: 0 when stopped or drained; 1 when the worker cannot go on
(:meth:`Lifecycle.cannot_go_on`: a store that refuses to record, every lane
ended, too many hung runs) or refused to start, so that systemd's
``Restart=on-failure`` restarts it; 2 when a plugin's policy values are
refused at start. :func:`abort` ends the process at once with status 1, for
the worker across hosts when its runs hang (its unacked jobs go back to
their lanes with its connections).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from typing import Any, NoReturn, Protocol

log = logging.getLogger("nova_hookspec.worker")

#: The exit statuses.
STOPPED, CANNOT_GO_ON, REFUSED_POLICY = 0, 1, 2


class Refused(Exception):  # noqa: N818 - it says what happened
    """The engine does not start: ``line`` is logged, ``status`` is the exit status."""

    def __init__(self, status: int, line: str) -> None:
        super().__init__(line)
        self.status = status
        self.line = line


class Engine(Protocol):
    """What a worker runs between its start and its stop."""

    #: The worker's name in its log lines (``HOST:PID``...).
    name: str
    #: Seconds between two looks at the stop event, at ``drain`` and at the threads.
    tick: float
    #: Looks in a row that must find nothing left before ``drain`` stops.
    calm: int

    def start(self, lifecycle: Lifecycle) -> None:
        """Check, then start the threads and log what runs; :class:`Refused`: not
        started (nothing to stop)."""

    def drained(self) -> bool:
        """Whether nothing is left for ``drain``: pending, running or held."""

    def ended(self) -> str | None:
        """Why the engine cannot go on because its threads ended, or ``None``."""

    def halt(self) -> None:
        """Take no more jobs (the running ones go on): stopped, drained, or unable to
        go on."""

    def finish(self, deadline: float) -> str:
        """Let the running jobs end until ``deadline`` (``time.monotonic()``), give
        back the rest, release what the engine holds; the end of the ``stopped``
        line."""


#: Set by a SIGTERM or SIGINT that came before the worker's lifecycle took them over
#: (:func:`catch_early_signals`).
_EARLY = threading.Event()


def catch_early_signals() -> None:
    """Catch SIGTERM and SIGINT from the command's start: loading the plugins may take
    seconds, and a worker stopped then exits 0 with its "stopped" line, as one stopped
    later does (it died of the signal, status 143, before)."""
    signal.signal(signal.SIGTERM, lambda *_: _EARLY.set())
    signal.signal(signal.SIGINT, lambda *_: _EARLY.set())


class Lifecycle:
    """Runs an :class:`Engine` until stopped, drained or unable to go on.

    :param grace: seconds the running jobs get to finish once stopped.
    """

    def __init__(self, grace: float = 30.0) -> None:
        self.grace = grace
        #: Set on SIGTERM, SIGINT, :meth:`stop` or :meth:`cannot_go_on` (not by a
        #: drain's end: a worker drained may be run again).
        self.stopping = threading.Event()
        #: Why the worker cannot go on (it then exits 1), or ``None``.
        self.failure: str | None = None

    def stop(self, *_: Any) -> None:
        """Stop taking jobs; the running ones get the grace period (a signal handler)."""
        self.stopping.set()

    def handle_signals(self) -> None:
        """SIGTERM and SIGINT stop the worker gracefully (the main thread only)."""
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        if _EARLY.is_set():  # stopped while it was being made
            self.stop()

    def cannot_go_on(self, why: str) -> None:
        """Stop, and exit with status 1 saying ``why`` (the first reason given)."""
        self.failure = self.failure or why
        self.stopping.set()

    def run(self, engine: Engine, drain: bool = False) -> int:
        """Start ``engine``, run it until stopped (or, with ``drain``, until nothing
        is left), stop it; the exit status."""
        if self.stopping.is_set():  # before it started: nothing to start, nor to stop
            log.info("nova_hookspec worker %s stopped before it started", engine.name)
            return STOPPED
        try:
            engine.start(self)
        except Refused as exc:
            log.error("%s", exc.line)
            return exc.status
        calm = 0
        while not self.stopping.wait(engine.tick):
            if drain:
                calm = calm + 1 if engine.drained() else 0
                if calm >= engine.calm:
                    break
            ended = engine.ended()
            if ended is not None:
                self.cannot_go_on(ended)
        engine.halt()
        said = engine.finish(time.monotonic() + self.grace)
        log.info("nova_hookspec worker %s stopped%s", engine.name, said)
        if self.failure is not None:
            log.error("nova_hookspec worker %s cannot go on: %s; exiting with status 1",
                      engine.name, self.failure)
            return CANNOT_GO_ON
        return STOPPED


def abort(name: str, why: str) -> NoReturn:
    """End the process now with status 1, saying ``why``: for runs hung past their time
    limit, whose threads nothing can stop (their jobs unacked, they go back to their
    lanes with the connections)."""
    log.error("nova_hookspec worker %s cannot go on: %s; exiting with status 1", name, why)
    logging.shutdown()
    os._exit(CANNOT_GO_ON)

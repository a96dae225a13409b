"""Time limits: a run past its limit fails, and its lane moves on.

Defaults:

* ``time_limit = 600.0`` s per run (``[nova_hookspec] time_limit``,
  ``NOVA_HOOKSPEC_TIME_LIMIT``; per plugin, :mod:`.overrides`);
* :data:`MAX_HUNG` ``= 10`` abandoned runs still hung in one worker process.

A thread cannot be killed in Python, so each lane calls its plugins in an
execution thread of its own (:class:`Caller`) and waits for it with a
timeout. A run that is not back within its limit fails with
:class:`TimeLimitExceeded`, retried or dead as any failure; the lane
abandons the hung execution thread and starts a new one for its next job.
When the hung call returns at last, what it returned or raised is thrown
away: it records nothing (and the store's fencing refuses a stale run's
record anyway).

Each abandoned thread that is still hung is counted (:class:`Hung`). More
than :data:`MAX_HUNG` at once means plugins hang faster than they come back
(threads, sockets, memory pile up): the worker says so and exits with a
non-zero status, so that its service manager (systemd's
``Restart=on-failure``) starts a fresh process.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Callable

log = logging.getLogger("nova_hookspec.worker")

#: Abandoned runs still hung in one worker process before it exits non-zero.
MAX_HUNG = 10


class TimeLimitExceeded(Exception):  # noqa: N818 - named as dramatiq names it
    """A run did not return within its time limit."""

    def __init__(self, limit: float) -> None:
        super().__init__(f"the run took longer than its time limit of {limit:g} s; "
                         "it was abandoned")
        self.limit = limit


class NotStarted(Exception):  # noqa: N818 - it says what happened
    """The run's admission refused it (:class:`.liveness.StartGate`): its function was
    not called."""


class Hung:
    """The abandoned runs of one worker process that have not returned yet."""

    def __init__(self, bound: int | None = None) -> None:
        self.bound = MAX_HUNG if bound is None else bound
        self._lock = threading.Lock()
        self.count = 0
        #: Abandoned runs in all (returned since or not).
        self.abandoned = 0

    def add(self) -> None:
        with self._lock:
            self.count += 1
            self.abandoned += 1

    def returned(self) -> None:
        with self._lock:
            self.count -= 1

    def too_many(self) -> bool:
        return self.count > self.bound


class _Run:
    def __init__(self, function: Callable[[], object],
                 admission: Callable[[], bool] | None) -> None:
        self.function = function
        self.admission = admission
        self.answered = threading.Event()  # the admission's answer is in ``refused``
        self.refused = False
        self.lock = threading.Lock()
        self.finished = threading.Event()
        self.error: BaseException | None = None
        self.abandoned = False


class Caller:
    """One lane's execution thread: calls a function, waits up to its limit."""

    def __init__(self, name: str, hung: Hung) -> None:
        self.name = name
        self.hung = hung
        self._queue: queue.SimpleQueue[_Run | None] | None = None
        self._made = 0

    def _serve(self, runs: queue.SimpleQueue[_Run | None]) -> None:
        while True:
            run = runs.get()
            if run is None:
                return
            if run.admission is not None:  # asked here, just before the function
                try:
                    run.refused = not run.admission()
                except BaseException:  # noqa: BLE001 - no answer: not started
                    run.refused = True
                run.answered.set()
                if run.refused:
                    continue
            try:
                run.function()
            except BaseException as exc:  # noqa: BLE001 - sys.exit, KeyboardInterrupt too
                run.error = exc
            with run.lock:
                run.finished.set()
                if run.abandoned:  # its lane went on long ago: nothing of it is kept
                    self.hung.returned()
                    log.warning("an abandoned run in %s returned after its time limit; "
                                "what it did is not recorded", threading.current_thread().name)
                    return

    def call(self, function: Callable[[], object], limit: float,
             admission: Callable[[], bool] | None = None) -> BaseException | None:
        """Call ``function`` in the execution thread; what it raised (``BaseException``s
        such as ``SystemExit`` included), :class:`TimeLimitExceeded` if it was not back
        within ``limit`` seconds, or ``None``.

        :param admission: asked in the execution thread just before ``function``
            (its wait is not counted in ``limit``); :class:`NotStarted` if it says no.
        """
        if self._queue is None:
            self._queue = queue.SimpleQueue()
            self._made += 1
            threading.Thread(target=self._serve, args=(self._queue,), daemon=True,
                             name=f"{self.name}-run-{self._made}").start()
        run = _Run(function, admission)
        self._queue.put(run)
        if admission is not None:
            run.answered.wait()
            if run.refused:
                return NotStarted("its lane runner no longer held its lane")
        if run.finished.wait(limit):
            return run.error
        with run.lock:
            if run.finished.is_set():  # back just now
                return run.error
            run.abandoned = True
        self.hung.add()
        self._queue = None  # the next run gets a new thread
        return TimeLimitExceeded(limit)

    def close(self) -> None:
        """End the execution thread once its run (if any) is over."""
        if self._queue is not None:
            self._queue.put(None)
            self._queue = None

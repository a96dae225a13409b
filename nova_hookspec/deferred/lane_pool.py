"""The runs of one lane runner's lanes, side by side: one job per lane at a time.

Why. A lane runner (:mod:`.consumer`) holds several lane queues, and each
lane's jobs must run one at a time in order; the lanes themselves have no
order between them. Running them one after another made a worker process as
slow as one plugin call at a time (82 jobs/s with a 10 ms plugin), whatever
number of lanes it held. Here each lane's current run goes to an executor
thread, so a runner holding eight lanes runs up to eight plugins at once.

Why not more connections instead (``--lanes 8``): a connection and a thread
per runner cost the broker and the roll call as much as they bring, and a
runner that holds one lane still waits for each of its plugins in turn.

The runner's own thread keeps the connection: py-amqp channels are not
thread-safe, so the executor threads never touch the broker. A run's outcome
comes back through :meth:`LanePool.finished`, and the runner's thread fences
it and records it (the ack, the receipt, the dead letter, a retry in place).
A byte on a pipe (:meth:`LanePool.fileno`) wakes that thread from its
``select`` on the broker's socket when a run ends.

A run may come with an admission (:class:`.liveness.StartGate`), asked in
its execution thread just before the plugin's call: a run it refuses is not
started, and comes back with the status ``"not started"``.

Each executor slot calls through a :class:`~.middleware.time_limit.Caller`
of its own, as the one-job runner did: a run past its time limit fails,
its hung thread is abandoned, and the slot takes the next run at once.
Slots are made when needed and kept: as many as the runner's lanes ran at
once, never more.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from typing import Any, Callable, Generic, Optional, TypeVar

from nova_hookspec.deferred.execution import Outcome
from nova_hookspec.deferred.jobs import Job
from nova_hookspec.deferred.middleware.time_limit import Caller, Hung

#: What the runner attaches to a run, handed back with its outcome.
T = TypeVar("T")

#: Whether a run may still start, asked just before its plugin's call.
Admission = Callable[[], bool]

#: What runs a job (:meth:`.execution.Execution.run`).
RunJob = Callable[[Job, Caller, Optional[Admission]], Outcome]


class _Slot:
    """An executor thread and its caller, taking one run at a time."""

    def __init__(self, pool: LanePool[Any], number: int) -> None:
        self.caller = Caller(f"{pool.name}-slot-{number}", pool.hung)
        self.runs: queue.SimpleQueue[tuple[Any, Job, Admission | None] | None] = (
            queue.SimpleQueue())
        self.thread = threading.Thread(target=self._serve, args=(pool,), daemon=True,
                                       name=f"{pool.name}-slot-{number}")
        self.thread.start()

    def _serve(self, pool: LanePool[Any]) -> None:
        try:
            while True:
                work = self.runs.get()
                if work is None:
                    return
                token, job, admission = work
                try:
                    outcome = pool.run_job(job, self.caller, admission)
                except BaseException as exc:  # noqa: BLE001 - the slot goes on regardless
                    outcome = Outcome("retry", 1.0, f"{type(exc).__name__}: {exc}")
                pool._ended(self, token, job, outcome)
        finally:
            self.caller.close()


class LanePool(Generic[T]):
    """Executor slots for one runner: :meth:`submit` a job, collect :meth:`finished`."""

    def __init__(self, name: str, run_job: RunJob, hung: Hung) -> None:
        self.name = name
        self.run_job = run_job
        self.hung = hung
        self._lock = threading.Lock()
        self._free: list[_Slot] = []
        self._slots = 0
        self._busy = 0
        self._done: list[tuple[T, Job, Outcome]] = []
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._closed = False

    def fileno(self) -> int:
        """Readable once a run ended (for the runner's ``select``)."""
        return self._wake_r

    @property
    def busy(self) -> int:
        """Runs submitted and not collected by :meth:`finished` yet."""
        with self._lock:
            return self._busy

    def submit(self, token: T, job: Job, admission: Admission | None = None) -> None:
        """Run ``job`` in a free slot (a new one if none is free), if ``admission``
        (when given) still says yes just before its plugin's call."""
        with self._lock:
            self._busy += 1
            slot = self._free.pop() if self._free else None
            if slot is None:
                self._slots += 1
                number = self._slots
        if slot is None:
            slot = _Slot(self, number)
        slot.runs.put((token, job, admission))

    def _ended(self, slot: _Slot, token: T, job: Job, outcome: Outcome) -> None:
        with self._lock:  # the pipe is closed under the lock too: never a reused fd
            self._done.append((token, job, outcome))
            if self._closed:
                slot.runs.put(None)
                return
            self._free.append(slot)
            self._poke()

    def wake(self) -> None:
        """Make :meth:`fileno` readable (a run asks the runner's thread something)."""
        with self._lock:
            if not self._closed:
                self._poke()

    def _poke(self) -> None:
        """A byte on the pipe (the lock held, the pool open): the runner's select wakes."""
        with contextlib.suppress(BlockingIOError):  # full: a wake is pending anyway
            os.write(self._wake_w, b"x")

    def finished(self) -> list[tuple[T, Job, Outcome]]:
        """The runs that ended since the last call, in the order they ended."""
        with self._lock:
            try:
                while not self._closed and os.read(self._wake_r, 4096):
                    pass
            except BlockingIOError:
                pass
            done, self._done = self._done, []
            self._busy -= len(done)
        return done

    def close(self) -> None:
        """End the slots once their runs (if any) are over; no more :meth:`submit`."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            free, self._free = self._free, []
            os.close(self._wake_r)
            os.close(self._wake_w)
        for slot in free:
            slot.runs.put(None)

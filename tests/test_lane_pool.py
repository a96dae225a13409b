"""A lane runner's runs side by side (``deferred/lane_pool.py``), in process.

What a runner relies on: the runs of its lanes go on at the same time (a runner
with eight lanes is not as slow as one plugin call at a time), a run past its
time limit fails and its slot takes the next run, and each outcome comes back
to the runner's thread with what it attached, waking its ``select``.
"""

from __future__ import annotations

import select
import threading
import time
from typing import Callable

from nova_hookspec.deferred.execution import Outcome
from nova_hookspec.deferred.jobs import Job
from nova_hookspec.deferred.lane_pool import LanePool
from nova_hookspec.deferred.middleware.time_limit import Caller, Hung, TimeLimitExceeded

#: A generous bound on waits that document a promise (never a speed assertion).
PATIENCE = 20.0


def _job(number: int) -> Job:
    return Job(number, "p", "create_instance_post", "{}", 1, time.time(), host="h")


def _pool(bodies: dict[int, Callable[[], object]], limit: float = PATIENCE,
          name: str = "test-runner") -> LanePool[str]:
    """A pool whose runs call ``bodies[job.id]()`` under ``limit``, as
    :meth:`.execution.Execution.run` does."""

    def run_job(job: Job, caller: Caller) -> Outcome:
        exc = caller.call(bodies[job.id], limit)
        if exc is None:
            return Outcome("done")
        return Outcome("retry", 1.0, repr(exc), isinstance(exc, TimeLimitExceeded))

    return LanePool(name, run_job, Hung())


def _collect(pool: LanePool[str], count: int) -> dict[str, Outcome]:
    """Wait (on the pool's wake-up fd, as a runner does) for ``count`` outcomes."""
    found: dict[str, Outcome] = {}
    deadline = time.monotonic() + PATIENCE
    while len(found) < count and time.monotonic() < deadline:
        select.select([pool.fileno()], [], [], 1.0)
        found.update((token, outcome) for token, _job, outcome in pool.finished())
    return found


def test_the_runs_of_two_lanes_go_on_at_the_same_time() -> None:
    meet = threading.Barrier(2, timeout=PATIENCE)  # broken unless both run at once
    pool = _pool({1: meet.wait, 2: meet.wait})
    try:
        pool.submit("lane-1", _job(1))
        pool.submit("lane-2", _job(2))
        found = _collect(pool, 2)
        assert {token: o.status for token, o in found.items()} == {"lane-1": "done",
                                                                   "lane-2": "done"}
        assert pool.busy == 0
    finally:
        pool.close()


def test_a_run_past_its_limit_fails_and_the_slot_takes_the_next_run() -> None:
    release = threading.Event()
    ran: list[int] = []
    pool = _pool({1: release.wait, 2: lambda: ran.append(2)}, limit=0.2)
    try:
        pool.submit("hung", _job(1))
        first = _collect(pool, 1)
        assert first["hung"].timed_out
        assert first["hung"].status == "retry"
        assert pool.hung.count == 1  # abandoned, still in the plugin
        pool.submit("next", _job(2))
        assert _collect(pool, 1)["next"].status == "done"
        assert ran == [2]
        release.set()  # the hung call returns at last: nothing of it comes back
        deadline = time.monotonic() + PATIENCE
        while pool.hung.count and time.monotonic() < deadline:
            time.sleep(0.01)
        assert pool.hung.count == 0
        assert pool.finished() == []
    finally:
        release.set()
        pool.close()


def test_a_failing_run_comes_back_as_its_outcome_and_the_pool_goes_on() -> None:
    def fail() -> None:
        raise SystemExit(3)  # a plugin's sys.exit(): a failed run, not the slot's end

    pool = _pool({1: fail, 2: lambda: None})
    try:
        pool.submit("a", _job(1))
        assert _collect(pool, 1)["a"].status == "retry"
        pool.submit("b", _job(2))
        assert _collect(pool, 1)["b"].status == "done"
    finally:
        pool.close()


def test_close_ends_the_slots_once_their_runs_are_over() -> None:
    release = threading.Event()
    pool = _pool({1: release.wait, 2: lambda: None}, name="closing")
    pool.submit("busy", _job(1))
    pool.submit("idle", _job(2))
    assert "idle" in _collect(pool, 1)
    before = {t for t in threading.enumerate() if t.name.startswith("closing-slot-")}
    assert len([t for t in before if "-run-" not in t.name]) == 2  # a slot per lane's run
    pool.close()
    release.set()
    deadline = time.monotonic() + PATIENCE
    while any(t.is_alive() for t in before) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not any(t.is_alive() for t in before)

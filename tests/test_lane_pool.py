"""A lane runner's runs side by side (``deferred/lane_pool.py``), in process.

What a runner relies on: the runs of its lanes go on at the same time (a runner
with eight lanes is not as slow as one plugin call at a time), a run past its
time limit fails and its slot takes the next run, and each outcome comes back
to the runner's thread with what it attached, waking its ``select``. A run
handed over before the process stood still starts only once the runner's
thread asked the broker, and not at all if its connection went (the start gate).
"""

from __future__ import annotations

import select
import threading
import time
from typing import Callable

import pytest

from nova_hookspec.deferred import liveness
from nova_hookspec.deferred.execution import NOT_STARTED, Outcome
from nova_hookspec.deferred.jobs import Job
from nova_hookspec.deferred.lane_pool import LanePool
from nova_hookspec.deferred.liveness import StartGate
from nova_hookspec.deferred.middleware.time_limit import (
    Caller,
    Hung,
    NotStarted,
    TimeLimitExceeded,
)

#: A generous bound on waits that document a promise (never a speed assertion).
PATIENCE = 20.0


def _job(number: int) -> Job:
    return Job(number, "p", "create_instance_post", "{}", 1, time.time(), host="h")


def _pool(bodies: dict[int, Callable[[], object]], limit: float = PATIENCE,
          name: str = "test-runner") -> LanePool[str]:
    """A pool whose runs call ``bodies[job.id]()`` under ``limit``, as
    :meth:`.execution.Execution.run` does."""

    def run_job(job: Job, caller: Caller, admission: Callable[[], bool] | None) -> Outcome:
        exc = caller.call(bodies[job.id], limit, admission)
        if exc is None:
            return Outcome("done")
        if isinstance(exc, NotStarted):
            return Outcome(NOT_STARTED)
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


# ------------------------------------------------------------ the start gate

def test_a_run_its_admission_refuses_is_not_started() -> None:
    ran: list[int] = []
    pool = _pool({1: lambda: ran.append(1), 2: lambda: ran.append(2)})
    try:
        pool.submit("refused", _job(1), lambda: False)
        pool.submit("admitted", _job(2), lambda: True)
        found = _collect(pool, 2)
        assert {token: o.status for token, o in found.items()} == {"refused": NOT_STARTED,
                                                                   "admitted": "done"}
        assert ran == [2]
    finally:
        pool.close()


def test_the_admission_is_asked_in_the_plugins_thread_and_its_wait_is_not_timed() -> None:
    """Asked just before the call, in the thread that calls the plugin (a stop between
    the slot and that thread is covered too); the gate's wait is not the plugin's time."""
    asked_in: list[str] = []
    called_in: list[str] = []

    def admission() -> bool:
        asked_in.append(threading.current_thread().name)
        time.sleep(1.5)  # longer than the run's limit: a fence's round trip, say
        return True

    pool = _pool({1: lambda: called_in.append(threading.current_thread().name)}, limit=1.0)
    try:
        pool.submit("held", _job(1), admission)
        assert _collect(pool, 1)["held"].status == "done"
        assert asked_in == called_in
        assert "-run-" in called_in[0]
    finally:
        pool.close()


def _asking(gate: StartGate, admission: Callable[[], bool]) -> tuple[threading.Thread,
                                                                      list[bool]]:
    """Ask ``admission`` in a thread of its own (an execution slot's) once ``gate`` saw a
    stall; return the thread and where its answer goes."""
    answer: list[bool] = []
    asking = threading.Thread(target=lambda: answer.append(admission()), daemon=True)
    asking.start()
    deadline = time.monotonic() + PATIENCE
    while not gate.wanted() and asking.is_alive() and time.monotonic() < deadline:
        time.sleep(0.005)
    return asking, answer


def test_a_run_handed_over_before_a_stall_starts_only_after_the_runners_fence(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The process stopped between a run's hand-over and its start: the run waits for
    the runner's thread, woken through the pool's fd, to ask the broker."""
    monkeypatch.setattr(liveness, "STALL", 0.05)
    pool = _pool({})
    gate = StartGate(pool.wake)
    try:
        admission = gate.admission()
        time.sleep(0.2)  # the stall, as a stopped process sees it on resuming
        asking, answer = _asking(gate, admission)
        assert gate.wanted()
        assert asking.is_alive()
        assert answer == []
        assert select.select([pool.fileno()], [], [], PATIENCE)[0]  # the runner woken
        gate.fenced(time.monotonic())  # the broker answered: the lanes are still its own
        asking.join(PATIENCE)
        assert answer == [True]
        assert not gate.wanted()
    finally:
        pool.close()


def test_a_run_handed_over_before_a_stall_does_not_start_once_its_connection_went(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(liveness, "STALL", 0.05)
    gate = StartGate(lambda: None)
    admission = gate.admission()
    time.sleep(0.2)
    asking, answer = _asking(gate, admission)
    assert asking.is_alive()
    assert answer == []
    gate.fenced(time.monotonic() - 60)  # a fence begun before it asked does not count
    assert gate.wanted()  # the runner's thread fences again
    asking.join(0.2)
    assert asking.is_alive()
    assert answer == []
    gate.lost()  # the fence failed: the lane has another holder
    asking.join(PATIENCE)
    assert answer == [False]


def test_a_run_handed_over_without_a_stall_starts_on_its_own_connection_only() -> None:
    woken: list[int] = []
    gate = StartGate(lambda: woken.append(1))
    assert gate.admission()()  # at once, no round trip asked
    handed = gate.admission()
    gate.lost()  # the connection went between the hand-over and the start
    assert not handed()
    assert gate.admission()()  # a run handed over on the next one starts
    assert woken == []
    assert not gate.wanted()


def test_a_run_is_held_for_a_stall_before_its_hand_over_too(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner's thread looked for a stall, then stood still before it handed the
    run over: counted from that look, the run waits for a fence."""
    monkeypatch.setattr(liveness, "STALL", 0.05)
    gate = StartGate(lambda: None)
    looked = time.monotonic()
    time.sleep(0.2)  # stopped between the look and the hand-over
    asking, answer = _asking(gate, gate.admission(looked))
    assert gate.wanted()
    assert asking.is_alive()
    gate.lost()
    asking.join(PATIENCE)
    assert answer == [False]

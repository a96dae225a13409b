"""The run policies in one process: time limits, retries, fencing, a failing store.

Fast: the worker runs in this process against a real journal file and
against the in-memory stub store (:mod:`nova_hookspec.deferred.backends.stub`),
with a plugin registered in code; the faults are injected at the store's
methods (a disk full at ``done()``). The real-process proofs are in
``test_time_limits.py``.
"""

from __future__ import annotations

import errno
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import nova_hookspec
from nova_hookspec import Retry, hookimpl
from nova_hookspec._nova.standins import Instance, RequestContext
from nova_hookspec.deferred import enqueue
from nova_hookspec.deferred.brokers.journal import Journal
from nova_hookspec.deferred.settings import Settings
from nova_hookspec.deferred.worker import Worker

# The policies' modules are imported by the tests that use them, so that the tests of
# what the old worker did (a disk full at done(), a stale run) run on the old code too.


@nova_hookspec.add_hook("delete_instance")
def delete(self: object, context: object, instance: object, bdms: object) -> None:
    """A hooked Nova call whose post observers are deferred."""


class Plugin:
    """Records its runs; blocks while ``gate`` is clear for instances named ``hang``."""

    def __init__(self) -> None:
        self.runs: list[tuple[str, int]] = []
        self.gate = threading.Event()

    @hookimpl(deferred=True)
    def delete_instance_post(self, instance: Any, delivery: Any) -> None:
        self.runs.append((instance.hostname, delivery.attempt))
        if instance.hostname == "hang":
            self.gate.wait()
        if instance.hostname == "flaky" and delivery.attempt < 3:
            raise ConnectionError("inventory unreachable")
        if instance.hostname == "fatal":
            raise nova_hookspec.FatalHookException("refused for good")


def _limited(limit: float = 1.0) -> Plugin:
    """A :class:`Plugin` whose marker sets its policy: 2 attempts, ``limit`` s each
    (1 s: room for a run that does not hang, on a machine loaded several times over)."""

    class Limited(Plugin):
        @hookimpl(deferred=True, max_attempts=2, time_limit=limit)
        def delete_instance_post(self, instance: Any, delivery: Any) -> None:
            super().delete_instance_post(instance, delivery)

    return Limited()


@pytest.fixture(params=["journal", "stub"])
def journal(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    """The store under test: the SQLite journal, and the in-memory stub that must
    behave the same (claims, leases, fencing, dead letters)."""
    if request.param == "stub":
        from nova_hookspec.deferred.backends.stub import StubStore

        store: Any = StubStore()
    else:
        store = Journal(str(tmp_path / "journal.sqlite"))
    enqueue.use(store)
    yield store
    enqueue.use(None)
    if isinstance(store, Journal):
        store.close_all()  # the worker's lane threads' too (Python 3.13 warns of them)


def _worker(store: Any, plugin: Plugin | None, grace: float = 30.0) -> Worker:
    """A worker of ``store`` with ``plugin`` registered (``None``: registered already)."""
    pm = nova_hookspec.get_plugin_manager()
    if plugin is not None:
        pm.register(plugin, "acme")
    settings = Settings(journal=store.path, retry_min_backoff=0.001, retry_max_backoff=0.002)
    return Worker(store, pm, settings, lanes=1, poll=0.01, grace=grace)


def _call(*names: str) -> None:
    for name in names:
        delete(None, RequestContext(project_id="p-1"), Instance(hostname=name), [])


# ------------------------------------------------------------ time limits


def test_a_call_past_its_limit_is_abandoned_and_its_return_thrown_away() -> None:
    from nova_hookspec.deferred.middleware import time_limit

    hung = time_limit.Hung()
    caller = time_limit.Caller("lane", hung)
    gate, returned = threading.Event(), threading.Event()
    late: list[str] = []

    def hangs() -> None:
        gate.wait()
        late.append("returned")
        returned.set()
        raise ValueError("never seen")

    error = caller.call(hangs, 0.01)
    assert isinstance(error, time_limit.TimeLimitExceeded)
    assert (hung.count, hung.abandoned) == (1, 1)
    assert caller.call(lambda: None, 5) is None  # a new execution thread: the lane goes on
    gate.set()
    returned.wait()
    while hung.count:  # the abandoned thread says it is back, then ends
        threading.Event().wait(0.001)
    assert late == ["returned"]
    assert (hung.count, hung.abandoned) == (0, 1)
    caller.close()


@pytest.mark.parametrize("raised", [SystemExit(3), KeyboardInterrupt(), GeneratorExit()])
def test_what_a_call_raises_is_returned_not_raised(raised: BaseException) -> None:
    from nova_hookspec.deferred.middleware import time_limit

    caller = time_limit.Caller("lane", time_limit.Hung())

    def fails() -> None:
        raise raised

    assert caller.call(fails, 5) is raised
    assert caller.call(sys.exit, 5).__class__ is SystemExit
    caller.close()


# ------------------------------------------------------------ retries


@pytest.mark.parametrize("delay", ["5", float("inf"), float("nan"), -1, True, [1]])
def test_a_retry_delay_that_is_no_number_of_seconds_uses_the_backoff(delay: Any) -> None:
    from nova_hookspec.deferred.middleware import retries

    decision = retries.after_failure(Retry(delay=delay), 1, 3, 1.0, 2.0)
    assert not decision.dead
    assert 0.5 <= decision.delay <= 1.0
    assert f"Retry(delay={delay!r}) is not a finite number of seconds" in decision.note


def test_a_good_retry_delay_is_kept_and_attempts_still_count() -> None:
    from nova_hookspec.deferred.middleware import retries

    assert retries.after_failure(Retry(delay=7), 1, 3, 1.0, 8.0) == retries.Decision(False, 7.0)
    assert retries.after_failure(Retry(delay=7), 3, 3, 1.0, 8.0).dead
    assert retries.after_failure(nova_hookspec.FatalHookException("no"), 1, 3, 1, 2).dead


@pytest.mark.parametrize(("delay", "shown"), [(1e308, "1e+308"), (601, "601"),
                                              (10**400, "1" + "0" * 36 + "...")])
def test_a_retry_delay_above_retry_max_backoff_waits_retry_max_backoff(delay: Any,
                                                                     shown: str) -> None:
    """A hostile review: ``Retry(delay=1e308)`` was honoured, the job due after the end
    of time, and ``worker --drain`` never ended."""
    from nova_hookspec.deferred.middleware import retries

    decision = retries.after_failure(Retry(delay=delay), 1, 3, 1.0, 600.0)
    assert (decision.dead, decision.delay) == (False, 600.0)
    assert decision.note == (f"Retry(delay={shown}) is more than retry_max_backoff = "
                             "600 s: waits 600 s")


def test_the_backoff_of_a_late_attempt_does_not_overflow() -> None:
    from nova_hookspec.deferred.middleware import retries

    assert 1.0 <= retries.backoff(10**6, 1.0, 2.0) <= 2.0


# ------------------------------------------------------------ fencing


def test_a_stale_run_records_nothing(journal: Any) -> None:
    journal.enqueue("acme", "delete_instance_post", ["u-1"], "{}")
    stale = journal.claim("h:1", lease=-1.0)  # its lease is over at once
    assert stale is not None
    stale.worker = "h:1"
    fresh = journal.claim("h:2", lease=30.0)
    assert fresh is not None
    fresh.worker = "h:2"
    assert (stale.attempts, fresh.attempts) == (1, 2)
    assert not journal.done(stale)
    assert not journal.again(stale, 0.0, "late")
    assert not journal.dead(stale, "late")
    assert not journal.release(stale)
    assert not journal.renew(stale, "h:1", 30.0)
    assert [(j["state"], j["attempts"]) for j in journal.jobs()] == [("running", 2)]
    assert journal.done(fresh)
    assert {row["what"]: row["count"] for row in journal.status()["counters"]} == {
        "enqueued": 1, "done": 1}


# ------------------------------------------------------------ the worker


def test_a_hung_run_fails_at_its_limit_and_the_lane_runs_the_next_job(
        journal: Any) -> None:
    plugin = _limited()
    worker = _worker(journal, plugin)
    _call("hang", "next")
    assert worker.run(drain=True) == 0
    assert plugin.runs[0] == ("hang", 1)
    assert sorted(plugin.runs) == [("hang", 1), ("hang", 2), ("next", 1)]
    [dead] = journal.jobs(dead=True)
    assert [run["error"] for run in dead["history"]] == [
        "TimeLimitExceeded: the run took longer than its time limit of 1 s; it was "
        "abandoned"] * 2
    plugin.gate.set()
    assert journal.status()["pending"] == 0


def test_failures_are_retried_with_their_history_and_a_fatal_one_is_dead_at_once(
        journal: Any) -> None:
    plugin = Plugin()
    worker = _worker(journal, plugin)
    _call("flaky", "fatal", "fine")
    assert worker.run(drain=True) == 0
    assert sorted(plugin.runs) == [("fatal", 1), ("fine", 1), ("flaky", 1), ("flaky", 2),
                                   ("flaky", 3)]
    [dead] = journal.jobs(dead=True)
    assert [run["error"] for run in dead["history"]] == [
        "FatalHookException: refused for good"]
    counters = {row["what"]: row["count"] for row in journal.status()["counters"]}
    assert counters == {"enqueued": 3, "done": 2, "retried": 2, "dead": 1}
    assert journal.retry(dead["id"]) == 1  # the operator sends it back: it runs again
    assert worker.run(drain=True) == 0
    assert plugin.runs[-1] == ("fatal", 1)
    assert journal.drop(dead["id"]) == 1
    assert journal.jobs(dead=True) == []


def _fail_done(store: Any, monkeypatch: pytest.MonkeyPatch, fail: Any) -> None:
    """Call ``fail()`` (which may raise: the disk full) before the store records a run
    done, also where the worker records several outcomes at once (``record_many``)."""
    real_done = store.done

    def done(job: Any) -> bool:
        fail()
        return bool(real_done(job))

    monkeypatch.setattr(store, "done", done)
    if hasattr(store, "record_many"):
        real_many = store.record_many

        def record_many(outcomes: Any) -> Any:
            if any(what == "done" for _, what, _, _ in outcomes):
                fail()
            return real_many(outcomes)

        monkeypatch.setattr(store, "record_many", record_many)


def test_a_disk_full_at_done_is_retried_not_a_dead_lane(journal: Any,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    plugin = Plugin()
    worker = _worker(journal, plugin)
    _call("a", "b")
    failures = iter([OSError(errno.ENOSPC, "No space left on device")] * 2)

    def disk_full() -> None:
        for error in failures:
            raise error

    _fail_done(journal, monkeypatch, disk_full)
    assert worker.run(drain=True) == 0
    assert plugin.runs == [("a", 1), ("b", 1)]  # each ran once: recorded after the retries
    status = journal.status()
    assert (status["pending"], status["running"], status["dead"]) == (0, 0, 0)


def test_a_store_that_stays_unusable_makes_the_worker_exit_non_zero(
        journal: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    plugin = Plugin()
    worker = _worker(journal, plugin)
    _call("a")
    execution = sys.modules.get("nova_hookspec.deferred.execution")  # the worker's runs
    if execution is not None:  # a worker without that module has no patience to shorten
        monkeypatch.setattr(execution, "STORE_PATIENCE", 0.05)

    def disk_full() -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    _fail_done(journal, monkeypatch, disk_full)
    assert worker.run(drain=True) == 1
    assert worker.failure is not None
    assert "No space left on device" in worker.failure
    assert plugin.runs == [("a", 1)]


def test_too_many_hung_runs_make_the_worker_exit_non_zero(
        journal: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from nova_hookspec.deferred.middleware import time_limit

    monkeypatch.setattr(time_limit, "MAX_HUNG", 2)
    plugin = _limited(0.05)  # every run hangs: none needs room to finish
    worker = _worker(journal, plugin)
    _call("hang", "hang", "hang", "hang")
    assert worker.run() == 1
    assert worker.failure == "3 runs are hung past their time limit (more than 2)"
    # A run is hung once past its limit, even if its thread had not yet come to the
    # plugin's first line (a loaded machine): the third comes to it, and hangs there.
    deadline = time.monotonic() + 60
    while len(plugin.runs) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(plugin.runs) == 3
    plugin.gate.set()


# ------------------------------------------------------------------ the retry policy, exactly
# (mutation testing, nox -s mutation, found these rules unchecked)


def test_the_backoff_doubles_from_the_first_retry_within_equal_jitter() -> None:
    from nova_hookspec.deferred.middleware.retries import backoff

    for attempt, ceiling in ((1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 16.0)):
        for _ in range(50):
            assert ceiling / 2 <= backoff(attempt, 1.0, 1000.0) <= ceiling, attempt
    assert backoff(30, 1.0, 10.0) <= 10.0  # the ceiling
    # The exponent stops at 64: a late attempt never overflows, and never grows past it.
    assert backoff(10_000, 1e-30, 1e300) <= 1e-30 * 2 ** 64


def test_a_retry_delay_of_zero_or_a_fraction_is_taken_as_asked() -> None:
    from nova_hookspec.deferred.jobs import Retry
    from nova_hookspec.deferred.middleware.retries import after_failure

    for asked in (0, 0.5):
        decision = after_failure(Retry(delay=asked), 1, 10, 100.0, 200.0)
        assert (decision.dead, decision.delay, decision.note) == (False, asked, "")


def test_a_bad_retry_delay_is_said_even_when_the_job_is_dead() -> None:
    from nova_hookspec.deferred.jobs import Retry
    from nova_hookspec.deferred.middleware.retries import after_failure

    said = ("Retry(delay=-1) is not a finite number of seconds, 0 or more: the backoff "
            "is used")
    alive = after_failure(Retry(delay=-1), 1, 10, 1.0, 2.0)
    assert (alive.dead, alive.note) == (False, said)
    assert 0.5 <= alive.delay <= 1.0  # the backoff of the first retry
    dead = after_failure(Retry(delay=-1), 10, 10, 1.0, 2.0)
    assert (dead.dead, dead.note) == (True, said)


# ------------------------------------------------------------ the lifecycle


def _stopped_once_running(worker: Worker, plugin: Plugin,
                          caplog: pytest.LogCaptureFixture) -> int:
    """Run ``worker`` in a thread, stop it once the plugin's first run began (its log
    in ``caplog``); the worker's exit status."""
    statuses: list[int] = []
    running = threading.Thread(target=lambda: statuses.append(worker.run()))
    with caplog.at_level("INFO", logger="nova_hookspec.worker"):
        running.start()
        while not plugin.runs:
            threading.Event().wait(0.001)
        worker.stop()
        running.join()
    [status] = statuses
    return status


def test_stop_gives_back_the_job_running_past_the_grace_and_the_next_worker_runs_it(
        journal: Any, caplog: pytest.LogCaptureFixture) -> None:
    plugin = Plugin()
    worker = _worker(journal, plugin, grace=0.0)
    _call("hang", "after")
    assert _stopped_once_running(worker, plugin, caplog) == 0
    # The journal claims a batch: the second job claimed, not started, is said apart.
    waiting = " and 1 claimed, not started," if hasattr(journal, "claim_many") else ""
    assert (f"nova_hookspec worker {worker.name} stopped: 1 job(s) not finished "
            f"within the grace period{waiting} given back") in caplog.text
    assert [(j["state"], j["attempts"]) for j in journal.jobs()] == [("pending", 0)] * 2
    plugin.gate.set()  # the abandoned run returns: it records nothing
    assert _worker(journal, None).run(drain=True) == 0
    assert plugin.runs == [("hang", 1), ("hang", 1), ("after", 1)]
    status = journal.status()
    assert (status["pending"], status["running"], status["dead"]) == (0, 0, 0)


def test_a_job_given_back_at_stop_is_no_lease_lost_and_its_lease_no_longer_renewed(
        journal: Any, caplog: pytest.LogCaptureFixture) -> None:
    """A stopped worker gives back the job running past the grace: no renewal of its
    lease follows (it is no longer this worker's), so none is refused and said as a
    lease lost to another worker, and the job stays given back."""
    plugin = Plugin()
    pm = nova_hookspec.get_plugin_manager()
    pm.register(plugin, "acme")
    settings = Settings(journal=journal.path, lease=1.0)  # renewed every 0.33 s
    worker = Worker(journal, pm, settings, lanes=1, poll=0.01, grace=0.0)
    _call("hang")
    assert _stopped_once_running(worker, plugin, caplog) == 0
    with caplog.at_level("INFO", logger="nova_hookspec.worker"):
        time.sleep(1.5)  # four renewals' time, had they gone on
    assert "another worker took the job" not in caplog.text
    assert [(j["state"], j["attempts"]) for j in journal.jobs()] == [("pending", 0)]
    plugin.gate.set()


def test_a_renewal_crossing_a_lanes_start_of_the_job_is_no_lease_lost(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A lane starts a claimed job: the journal counts the run, then the lane's copy of
    the job does. A renewal between the two (the lane's thread not scheduled for a
    moment, a loaded machine: seen with 16 lanes and a 1 s lease, a few jobs in
    thousands) holds the old count, and the journal refuses it: that is no lease lost
    to another worker, and is not said as one."""
    journal = Journal(str(tmp_path / "journal.sqlite"))
    enqueue.use(journal)
    try:
        plugin = Plugin()
        pm = nova_hookspec.get_plugin_manager()
        pm.register(plugin, "acme")
        # Renewed every 0.67 s: one renewal falls in the lane's pause, the next after it.
        worker = Worker(journal, pm, Settings(journal=journal.path, lease=2.0), lanes=1,
                        poll=0.01)

        def start(job: Any) -> bool:  # Journal.start, the lane paused after its commit
            with journal._tx() as db:
                held = db.execute(f"UPDATE jobs SET attempts = attempts + 1 WHERE "
                                  f"{journal._HELD}", journal._held(job)).rowcount > 0
            time.sleep(1.0)
            if held:
                job.attempts, job.started = job.attempts + 1, True
            return held

        journal.start = start  # type: ignore[method-assign]
        _call("once")
        with caplog.at_level("INFO", logger="nova_hookspec.worker"):
            assert worker.run(drain=True) == 0
        assert plugin.runs == [("once", 1)]
        assert "another worker took the job" not in caplog.text
        assert "delete_instance_post) done, attempt 1" in caplog.text
    finally:
        enqueue.use(None)
        journal.close_all()


def test_a_connection_that_close_all_took_is_not_closed_again_by_its_thread() -> None:
    """A worker's thread closes its own journal connection at its end; a ``close_all``
    beside it (a worker's stop, a test's teardown) took that connection already: it is
    closed once. (Closed by both at once, SQLite freed it twice and the next close
    hung for ever on the freed mutex.)"""
    from nova_hookspec.deferred.brokers import journal_db

    class Owner:
        pass

    class Counted:
        def __init__(self) -> None:
            self.closes = 0

        def close(self) -> None:
            self.closes += 1

    owner = Owner()
    opened = journal_db.Opened(owner)
    taken, kept = Counted(), Counted()
    opened.add(taken)  # type: ignore[arg-type]
    opened.close_all()
    opened.add(kept)  # type: ignore[arg-type]
    opened.close(taken)  # type: ignore[arg-type]  # its thread's own close, after
    opened.close(kept)  # type: ignore[arg-type]
    assert (taken.closes, kept.closes) == (1, 1)

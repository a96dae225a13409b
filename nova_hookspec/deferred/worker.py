"""The one-host worker: claims deferred jobs under a lease and runs them in lanes.

Each lane is a thread that takes the next job that may run, runs it
(:mod:`.execution`: the plugin's observer under its time limit, the retry
policy on failure) and hands its outcome (done, again after a backoff, or
dead) to the committer (:mod:`.committer`), which records the outcomes of
several runs in one transaction while the lane goes on. Jobs are claimed in
batches: a lane that finds none waiting claims up to ``batch`` at once, in
one transaction (the store keeps the order per instance and plugin: no two
jobs of a batch share an instance, and none runs before an earlier job of
its instance is recorded), and the other lanes take from it. While a job runs
its lease is renewed; a worker killed mid-job leaves a lease that runs out,
and the job runs again (at-least-once). A worker starting on the host gives
back at once the jobs of this host's workers that are gone. The store
records an outcome only while the job is still held by the run that claimed
it (fencing): a run abandoned at its time limit, or one whose lease ran out,
records nothing, and its lease is no longer renewed.

Its lifecycle is :mod:`.lifecycle`'s, as the worker across hosts': exit
status 0 when stopped or drained; 1 when the worker cannot go on (the store
refused to record for :data:`.execution.STORE_PATIENCE` seconds, every lane
ended, more than :data:`.middleware.time_limit.MAX_HUNG` runs hung), so
that systemd's ``Restart=on-failure`` restarts it; 2 when a plugin's policy
values are refused at start (:mod:`.middleware.overrides`).

Collection: a thread imports the jobs the hooked calls spooled
(:mod:`.collector`) every ``poll`` seconds; a job is claimed only once a
pass that started after it was written is done.

``drain``: stop once no job is pending (retries waiting for their time
included) or running. Shutdown (SIGTERM, SIGINT): stop claiming, let the
running jobs finish within the grace period (``grace``, 30 s by default),
give back the rest, exit 0. The collector's last pass (the files of writers
gone since the one before) gets :data:`LAST_PASS` seconds of its own, beside
the grace: a short grace never cuts it, and its lock is never let go while it
runs.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections import deque
from typing import Callable

from nova_hookspec._call.policy import describe_exception
from nova_hookspec._plugins.manager import NovaPluginManager
from nova_hookspec.deferred import delivered, leases, lifecycle, liveness
from nova_hookspec.deferred.broker import Store
from nova_hookspec.deferred.brokers.journal import Journal
from nova_hookspec.deferred.collector import Collector
from nova_hookspec.deferred.committer import Committer
from nova_hookspec.deferred.execution import (
    Execution,
    Outcome,
    StoreUnusable,
    call_plugin,
    log_outcome,
    persist,
)
from nova_hookspec.deferred.jobs import Job
from nova_hookspec.deferred.middleware.overrides import Policies
from nova_hookspec.deferred.middleware.time_limit import Caller, Hung
from nova_hookspec.deferred.settings import SettingError, Settings

__all__ = ["Worker", "call_plugin"]

log = logging.getLogger("nova_hookspec.worker")

#: Seconds a stopping worker waits for the collector's last pass (milliseconds as a
#: rule; a journal locked by another process may hold it up to its busy timeout).
LAST_PASS = 30.0


class Worker:
    """Runs the deferred jobs of ``store`` (the journal, or the stub) with the plugins
    of ``pm``.

    :param lanes: jobs run at the same time (threads).
    :param grace: seconds the running jobs get to finish on shutdown.
    :param poll: seconds a lane waits when no job may run.
    :param observe: called after each run with the job, its seconds and its
        outcome (``done``, ``retry``, ``dead``, ``timeout``): the metrics.
    :param batch: jobs claimed in one transaction at most.
    """

    def __init__(self, store: Store, pm: NovaPluginManager, settings: Settings, *,
                 lanes: int = 1, grace: float = 30.0, poll: float = 0.2,
                 observe: Callable[[Job, float, str], None] | None = None,
                 batch: int = 32) -> None:
        self.store = store
        self.batch = max(1, batch)
        #: Claimed jobs no lane has taken yet (each also in ``_running``: leased).
        self._ready: deque[Job] = deque()
        self._claiming = threading.Lock()
        self._committer: Committer | None = None
        self.pm = pm
        self.settings = settings
        self.lanes = max(1, lanes)
        self.grace = grace
        self.poll = poll
        #: Start, signals, drain, stop and exit status (:mod:`.lifecycle`).
        self.lifecycle = lifecycle.Lifecycle(grace)
        #: Set when the lanes take no more jobs (:meth:`halt`), anew each run.
        self.halting = threading.Event()
        #: Seconds between two looks at the stop event, at ``drain`` and at the lanes.
        self.tick = min(poll, 0.1)
        #: ``drain`` stops at the first look that finds nothing left.
        self.calm = 1
        self._collection: tuple[Collector, threading.Event, threading.Thread] | None = None
        #: The jobs claimed (:mod:`.leases`); its lock guards ``_ready`` too.
        self._held = leases.Held()
        self._lock = self._held.lock
        self._running = self._held.jobs
        self._lanes_left = 0
        #: Renews the leases of the jobs held, gives them back at the stop.
        self._keeper: leases.Keeper | None = None
        #: Called after each run with the job, its seconds and how it ended (the metrics).
        self.observe = observe
        #: When a lane last looked for a job (the metrics' liveness).
        self.last_loop = 0.0
        self.name = f"{store.host}:{os.getpid()}@{liveness.pid_namespace()}"
        self.hung = Hung()
        self.execution = Execution(pm, Policies(pm.deferred, settings))

    @property
    def failure(self) -> str | None:
        """Why the worker cannot go on (it then exits 1), or ``None``."""
        return self.lifecycle.failure

    # ------------------------------------------------------------ one job

    def run_job(self, job: Job, caller: Caller) -> Outcome:
        """Run ``job`` and hand its outcome to the committer (which records and logs
        it)."""
        outcome = self.ended_each_run(job) or self.execution.run(job, caller)
        # The job stays in ``_running`` (its lease renewed) until its outcome is
        # recorded (:meth:`_after`): on a full disk a lease that ran out would let a
        # lane claim it again and run its plugin twice.
        self._hand_over(job, outcome)
        return outcome

    def _hand_over(self, job: Job, outcome: Outcome) -> None:
        """Give a run's outcome to the committer (``None``: stopped meanwhile, the job
        given back); from now on a renewal refused is its outcome recorded, not a
        lease lost."""
        committer = self._committer
        if committer is not None:
            with self._lock:
                self._held.recording.add(job.id)
            committer.put(job, outcome)

    def ended_each_run(self, job: Job) -> Outcome | None:
        """The outcome of a job whose every run ended the worker, or ``None``.

        A run is counted as it starts; a run whose worker ended (``os._exit`` in
        the plugin, a segfault, the OOM killer) records nothing, so the job is
        claimed again by the next worker. Once ``max_attempts`` runs were counted
        without an outcome it is dead instead of run again: else it would be
        claimed by each restarted worker forever, and hold its lane's other jobs."""
        runs = job.attempts - 1 if job.started else job.attempts
        limit = self.execution.policy(job).max_attempts
        if runs < limit:
            return None
        return Outcome("dead", error=f"the worker ended during each of its {runs} runs: "
                       "killed, crashed, or the plugin ended the process")

    def _delivered(self) -> str | None:
        return self.store.path if isinstance(self.store, Journal) else None

    def _overtaken(self, job: Job) -> Outcome | None:
        """Done without a run: a create whose instance's delete finished since it was
        written (:func:`.delivered.overtaken`)."""
        path = self._delivered()
        why = None if path is None else delivered.overtaken(path, job)
        return None if why is None else Outcome("done", error=why)

    def _after(self, job: Job, outcome: Outcome, recorded: bool) -> None:
        """Log a run's recorded outcome and tell the metrics (the committer's thread)."""
        self._held.drop(job.id)  # recorded (or given up): its lease is not renewed
        log_outcome(job, outcome, self.execution.policy(job), recorded)
        if self.observe is not None:
            try:
                self.observe(job, outcome.seconds, outcome.metric)
            except Exception:
                log.warning("the metrics could not record a run", exc_info=True)

    # ------------------------------------------------------------ lanes

    def _lane(self, n: int) -> None:
        caller = Caller(f"lane-{n}", self.hung)
        try:
            self._claim_and_run(caller)
        except StoreUnusable as exc:
            self._cannot_go_on(f"the journal {self.store.path}: {exc}")
        except BaseException as exc:
            log.error("nova_hookspec worker %s: lane-%d ended: %s", self.name, n,
                      describe_exception(exc), exc_info=True)
        finally:
            caller.close()
            self._close_store()  # this thread's connection, not left to the collector
            with self._lock:
                self._lanes_left -= 1

    def _cannot_go_on(self, why: str) -> None:
        self.halting.set()  # no lane claims another job meanwhile
        self.lifecycle.cannot_go_on(why)

    def _claim_and_run(self, caller: Caller) -> None:
        while not self.halting.is_set():
            self.last_loop = time.time()
            job = self._next()
            if job is None:
                self.halting.wait(self.poll)
                continue
            self.run_job(job, caller)
            if self.hung.too_many():
                self._cannot_go_on(f"{self.hung.count} runs are hung past their time limit "
                                   f"(more than {self.hung.bound})")

    def _next(self) -> Job | None:
        """A claimed job for a lane, its run counted in its attempts (a job of a batch
        is counted as a lane takes it: a worker that ends leaves the jobs it did not
        start as they were)."""
        while True:
            job = self._take()
            if job is None or job.started:
                return job
            settled = self.ended_each_run(job) or self._overtaken(job)
            if settled is not None:  # recorded as is, its run not counted
                self._hand_over(job, settled)
                continue
            with self._lock:  # a renewal refused meanwhile is no lease lost (leases)
                self._held.starting.add(job.id)
            try:
                started = persist(functools.partial(self.store.start, job),  # type: ignore[attr-defined]
                                  "start a deferred job")
            finally:
                with self._lock:
                    self._held.starting.discard(job.id)
            if started:
                return job
            self._held.drop(job.id)  # no longer this worker's (its lease ran out): not run

    def _take(self) -> Job | None:
        """A claimed job: one waiting, else the first of a new batch."""
        with self._lock:
            if self._ready:
                return self._ready.popleft()
        if self._committer is not None and self._committer.struggling():
            return None  # the store refuses outcomes (a full disk): claim nothing more
        with self._claiming:  # one lane claims for all
            with self._lock:
                if self._ready:
                    return self._ready.popleft()
            many = getattr(self.store, "claim_many", None)
            jobs: list[Job] = persist(
                lambda: (many(self.name, self.settings.lease, self.batch) if callable(many)
                         else [j for j in [self.store.claim(self.name, self.settings.lease)]
                               if j is not None]), "claim deferred jobs")
            with self._lock:
                self._running.update((job.id, job) for job in jobs)
                self._ready.extend(jobs[1:])
            return jobs[0] if jobs else None

    def _unfinished(self) -> bool:
        """Whether a job is still pending (retries waiting for their time included)
        or running: ``--drain`` waits for them; dead jobs it leaves."""
        status = persist(self.store.status, "read the journal's status")
        return bool(status["pending"] or status["running"])

    def _collect(self, collector: Collector, ended: threading.Event) -> None:
        """Collect the spool every poll until the lanes ended."""
        failing = False  # logged once per episode (a full disk), not every poll
        while not ended.is_set():
            try:
                collector.collect()
            except Exception as exc:  # noqa: BLE001 - any store error, logged below
                if not failing:
                    log.warning("could not collect the spool of %s (%s); trying again "
                                "every %.1f s", self.store.path, describe_exception(exc),
                                self.poll)
                failing = True
            else:
                if failing:
                    log.info("the spool of %s is collected again", self.store.path)
                failing = False
            ended.wait(self.poll)
        # One pass more on the way out: the files of writers gone since the last one are
        # imported and removed, so a stopped worker leaves no file whose jobs a journal
        # made anew (the old one deleted) would import, and run, a second time.
        try:
            collector.collect(every_file=True)
        except Exception as exc:  # noqa: BLE001 - the next worker's first pass does it
            log.warning("could not collect the spool of %s on the way out (%s): the next "
                        "worker collects what it left", self.store.path,
                        describe_exception(exc))
        self._close_store()

    def _close_store(self) -> None:
        """Close the calling thread's connections to the store (if it keeps one) and to
        the delivered record."""
        close = getattr(self.store, "close", None)
        try:
            if callable(close):
                close()
            delivered.close()
        except Exception:  # closing is tidying: never a failure
            log.debug("could not close the store's connection", exc_info=True)

    # ------------------------------------------------------------ the lifecycle

    def run(self, drain: bool = False) -> int:
        """Run until stopped (or, with ``drain``, until every job is done or dead); the
        exit status (:mod:`.lifecycle`)."""
        return self.lifecycle.run(self, drain)

    def start(self, _: lifecycle.Lifecycle) -> None:
        """Check the plugins' policies, start collecting the spool (the journal), give
        back the jobs of this host's workers that are gone, start the lanes."""
        self.pm.load_all()  # legacy classes load when their point is first called: not here
        try:
            self.execution.policies.check_all()
        except SettingError as exc:
            raise lifecycle.Refused(lifecycle.REFUSED_POLICY,
                                    f"nova_hookspec worker: {exc}") from None
        self.halting = threading.Event()
        if isinstance(self.store, Journal):  # the stub has no spool
            collector = Collector(self.store)
            collector.collect()
            ended = threading.Event()
            collecting = threading.Thread(target=self._collect, args=(collector, ended),
                                          name="collector", daemon=True)
            collecting.start()
            self._collection = (collector, ended, collecting)
        given_back = self.store.release_dead_workers(liveness.alive_on_this_host)
        log.info("nova_hookspec worker %s: %d lane(s), journal %s%s", self.name, self.lanes,
                 self.store.path, f", {given_back} job(s) of a stopped worker given back"
                 if given_back else "")
        # Lanes say when they are done (a count, not Thread.is_alive(): a thread that ran
        # greenlets, as Nova's imports may start, can stay "alive" after it returned on old
        # greenlet releases).
        self._lanes_left = self.lanes
        self._committer = Committer(self.store, self._after, self._cannot_go_on,
                                    self._delivered())
        self._keeper = leases.Keeper(self._held, self.store, self.name, self.settings.lease)
        self._keeper.start()
        for n in range(self.lanes):
            threading.Thread(target=self._lane, args=(n,), name=f"lane-{n}",
                             daemon=True).start()

    def drained(self) -> bool:
        """No job claimed by this worker, none pending (retries waiting for their time
        included) or running in the store: ``drain`` stops; dead jobs it leaves."""
        with self._lock:
            if self._running or self._ready:
                return False
        try:
            return not self._unfinished()
        except StoreUnusable as exc:
            self._cannot_go_on(f"the journal {self.store.path}: {exc}")
            return False

    def ended(self) -> str | None:
        return None if self._lanes_left else "every lane ended with jobs left"

    def halt(self) -> None:
        self.halting.set()

    def finish(self, deadline: float) -> str:
        """Wait for the lanes until ``deadline``, record what ended, give back the jobs
        not finished, stop the committer and the collector."""
        while self._lanes_left and time.monotonic() < deadline:
            time.sleep(0.05)
        if self._committer is not None:  # the runs that ended are recorded first
            self._committer.flush(max(0.0, deadline - time.monotonic()) + 5.0)
        with self._lock:
            self._ready.clear()
        # Stops renewing, gives back what is held (and says which it held).
        unfinished = self._keeper.give_back() if self._keeper is not None else []
        if self._committer is not None:
            self._committer.close()
            self._committer = None
        if self._collection is not None:
            collector, ended, collecting = self._collection
            self._collection = None
            ended.set()
            collecting.join(max(self.grace, LAST_PASS))
            if collecting.is_alive():  # its lock goes with the process, not under it
                log.warning("the last collection of the spool of %s did not end within "
                            "%.0f s: the next worker collects what it left", self.store.path,
                            max(self.grace, LAST_PASS))
            else:
                collector.close()
        if not unfinished and not self.lifecycle.stopping.is_set():
            return ""  # drained: nothing to give back
        started = sum(1 for job in unfinished if job.started)
        waiting = f" and {len(unfinished) - started} claimed, not started," if (
            len(unfinished) > started) else ""
        return f": {started} job(s) not finished within the grace period{waiting} given back"

    def alive(self) -> bool:
        """Whether a lane still runs."""
        return self._lanes_left > 0

    def stop(self) -> None:
        """Stop claiming; running jobs get the grace period."""
        self.lifecycle.stop()

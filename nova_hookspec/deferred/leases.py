"""Keeping the leases of the jobs a one-host worker holds.

Why a module of its own: a worker's lanes run the jobs; keeping them the
worker's while they run (a lease in the journal, renewed) is another
concern, with its own thread and its own failure to report.

A claimed job is the worker's until its lease runs out (``lease`` seconds,
30 by default, :mod:`.settings`); a worker whose lease ran out may find the
job taken by another (a worker stopped, a frozen VM, a paused container, a
long swap storm): the job may then run twice, and this run's outcome is not
recorded (its records are fenced by the run count, :mod:`.brokers.journal`).
So a thread renews every held job's lease every third of a lease, on a fixed
schedule (the time the renewals take does not push the next ones back; a
stalled thread renews at once when it resumes), and says, once per job, when
a renewal found the job taken. A renewal refused because the job's outcome
was just recorded is no lease lost: the jobs being recorded are left out;
nor is one refused because a lane was starting the job meanwhile (the store
counted the run, the renewal held the count before it).
The thread ends when the worker stops (``stop``), before its jobs are given
back: a job given back is not renewed (a renewal refused then is no lease
lost either), and no renewal is under way, its connection in use, when the
process ends.
"""

from __future__ import annotations

import logging
import threading
import time

from nova_hookspec._call.policy import describe_exception
from nova_hookspec.deferred.broker import Store
from nova_hookspec.deferred.jobs import Job

log = logging.getLogger("nova_hookspec.worker")


class Held:
    """The jobs a worker holds: claimed (leased), running, or with their outcome being
    recorded; shared by its lanes, its committer and its lease keeper under ``lock``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        #: Claimed jobs, by id, until their outcome is recorded or they are given back.
        self.jobs: dict[int, Job] = {}
        #: Of those, the jobs whose outcome the committer is recording.
        self.recording: set[int] = set()
        #: Of those, the jobs a lane is starting: the store counts the run, then the
        #: lane's copy of the job does; a renewal between the two holds the old count.
        self.starting: set[int] = set()

    def drop(self, job_id: int) -> None:
        """``job_id`` is no longer held (its outcome recorded, or given back)."""
        with self.lock:
            self.jobs.pop(job_id, None)
            self.recording.discard(job_id)
            self.starting.discard(job_id)


#: Seconds a stopping worker waits for a renewal of the leases under way.
KEEPER_STOP = 2.0


class Keeper:
    """The thread that keeps the leases of ``held``'s jobs, started and stopped with
    the worker; at the stop, the jobs still held are given back."""

    def __init__(self, held: Held, store: Store, worker: str, lease: float) -> None:
        self.held, self.store, self.lease = held, store, lease
        self._stop = threading.Event()
        self._thread = threading.Thread(target=keep, args=(held, store, worker, lease,
                                                          self._stop),
                                        name="leases", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def give_back(self) -> list[Job]:
        """Stop renewing (a renewal under way, a journal locked, is waited for
        :data:`KEEPER_STOP` seconds at most), then give back every job held: a job given
        back is not this worker's, so a renewal refused then is no lease lost, and no
        renewal uses the store as the process ends. The first job that cannot be given
        back (a journal another process locks: each try waits out the busy timeout, a
        minute) ends the giving back, said in one WARNING: the rest are the next worker's
        on this host at once, any other's once their lease ran out. The jobs it held."""
        self._stop.set()
        if self._thread.ident is not None:  # started
            self._thread.join(KEEPER_STOP)
        with self.held.lock:
            unfinished = list(self.held.jobs.values())
            self.held.jobs.clear()  # given back below, or theirs already: not held
            self.held.recording.clear()
        for at, job in enumerate(unfinished):
            try:
                self.store.release(job)
            except Exception as exc:  # noqa: BLE001 - said below
                log.warning("could not give back %d deferred job(s) (%s): the next worker "
                            "on this host takes them back at once, any other once their "
                            "lease (%.0f s) ran out", len(unfinished) - at,
                            describe_exception(exc), self.lease)
                break
        return unfinished


def keep(held: Held, store: Store, worker: str, lease: float,
         stop: threading.Event) -> None:
    """Renew the leases of ``held``'s jobs every third of ``lease`` until ``stop`` is
    set (a daemon thread's target); then close the thread's connection to the store."""
    try:
        _keep(held, store, worker, lease, stop)
    finally:
        close = getattr(store, "close", None)
        if callable(close):
            try:
                close()  # this thread's connection
            except Exception:  # closing is tidying: never a failure
                log.debug("could not close the store's connection", exc_info=True)


def _keep(held: Held, store: Store, worker: str, lease: float,
          stop: threading.Event) -> None:
    failing = False  # logged once per episode (a full disk), not every third of a lease
    lost: set[int] = set()  # said once each
    every = lease / 3
    due = time.monotonic()
    while True:
        due = max(due + every, time.monotonic())
        if stop.wait(max(0.0, due - time.monotonic())):
            return
        with held.lock:
            jobs = list(held.jobs.values())
            lost &= set(held.jobs)
        for job in jobs:
            if stop.is_set():  # the jobs are being given back
                return
            attempts = job.attempts  # the count the renewal holds
            try:
                renewed = store.renew(job, worker, lease)
            except Exception as exc:  # noqa: BLE001 - any store error, logged below
                if not failing:
                    log.warning("could not renew the lease of deferred job %s (%s); trying "
                                "again every %.1f s", job.delivery().job_id,
                                describe_exception(exc), every)
                failing = True
                continue
            if failing:
                log.info("the leases of the running jobs are renewed again")
            failing = False
            with held.lock:  # (a renewal that crossed a job's giving back: no lease lost)
                taken = not renewed and held.jobs.get(job.id) is job and (
                    job.id not in held.recording) and job.id not in lost and (
                    not stop.is_set()) and (
                    # a lane starting it: refused for the old count, no lease lost
                    job.id not in held.starting and job.attempts == attempts)
            if taken:
                lost.add(job.id)
                log.warning("the lease (%.1f s) of deferred job %s (%s, %s) ran out before "
                            "this worker, stalled, renewed it, and another worker took the "
                            "job: it may run twice; this run's outcome is not recorded",
                            lease, job.delivery().job_id, job.plugin, job.hook)

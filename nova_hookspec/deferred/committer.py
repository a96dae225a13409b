"""The one-host worker's group commit: several runs' outcomes recorded in one transaction.

Why: with a fast plugin the worker's cost is its transactions, one per
claim and one per outcome (each a commit of the journal). A lane hands its
run's outcome here and moves on to its next job; this thread records every
outcome handed over since its last commit in one transaction
(:meth:`.brokers.journal.Journal.record_many`), having first noted the
delivered ones (:mod:`.delivered`: a create or delete that ran, before the
journal calls it done), then logs each and tells the metrics. The delay an
outcome waits is bounded by one commit: the thread commits as soon as it is
handed something (after gathering for :data:`GATHER` seconds: fewer
commits, fewer wake-ups), and what arrives meanwhile goes in the next commit.

Why that keeps the promises. Order: until its outcome is committed the job
is still ``running`` in the journal, so no later job of its instance can be
claimed (the claim's rules, :mod:`.brokers.journal_sql`); the lane's next
job is one that may run beside it anyway. At-least-once: an outcome not
committed when the worker dies (SIGKILL, power loss) leaves the job
``running`` under its lease: it runs again once the lease is over (at once
when the next worker starts on the host). Fencing: each outcome is still
recorded only while its run holds the job.

A store without ``record_many`` (the in-memory stub) gets one call per
outcome, in the same thread.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

from nova_hookspec.deferred import delivered
from nova_hookspec.deferred.execution import Outcome, StoreUnusable, persist
from nova_hookspec.deferred.jobs import Job

log = logging.getLogger("nova_hookspec.worker")

#: Outcomes recorded in one transaction at most.
MOST = 500
#: Seconds the committer gathers outcomes after the first one arrived (the bound on
#: an outcome's delay is this plus one commit).
GATHER = 0.002
#: Seconds a commit may take before the worker stops claiming (see :meth:`Committer.struggling`).
STRUGGLE = 1.0


class Committer:
    """Records the outcomes lanes hand over (:meth:`put`) in a thread of its own.

    :param store: the journal (or the stub).
    :param after: called with each job, its outcome and whether it was recorded,
        after the commit (the log and the metrics).
    :param failed: called once with why, when the store refused to record for
        :data:`.execution.STORE_PATIENCE` seconds (the worker cannot go on).
    :param delivered: the journal whose record of delivered jobs (:mod:`.delivered`)
        notes each job done; ``None`` for a store that keeps none.
    """

    def __init__(self, store: Any, after: Callable[[Job, Outcome, bool], None],
                 failed: Callable[[str], None], delivered: str | None = None) -> None:
        self.store = store
        self.delivered = delivered
        self.after = after
        self.failed = failed
        self._waiting: list[tuple[Job, Outcome]] = []
        self._busy = 0  # outcomes taken and not yet recorded
        self._started: float | None = None  # when the commit going on started
        self._cond = threading.Condition()
        self._closing = False
        self._idle = False  # waiting for a first outcome: a put wakes it
        self._thread = threading.Thread(target=self._loop, name="committer", daemon=True)
        self._thread.start()

    def put(self, job: Job, outcome: Outcome) -> None:
        with self._cond:
            self._waiting.append((job, outcome))
            if self._idle:
                self._cond.notify_all()

    def struggling(self) -> bool:
        """Whether a commit has been going on for more than :data:`STRUGGLE` seconds (the
        store refusing it: a full disk): the worker's lanes then claim nothing."""
        started = self._started
        return started is not None and time.monotonic() - started > STRUGGLE

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every outcome handed over is recorded; whether it was."""
        with self._cond:
            return self._cond.wait_for(lambda: (not self._waiting and not self._busy)
                                       or not self._thread.is_alive(), timeout)

    def close(self, timeout: float | None = None) -> None:
        """Record what is waiting, then stop."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout)

    def _loop(self) -> None:
        try:
            while True:
                with self._cond:
                    self._idle = True
                    self._cond.wait_for(lambda: self._waiting or self._closing)
                    self._idle = False
                    if not self._waiting:
                        return
                if not self._closing:
                    time.sleep(GATHER)
                with self._cond:
                    taken, self._waiting = self._waiting[:MOST], self._waiting[MOST:]
                    self._busy = len(taken)
                self._started = time.monotonic()
                try:
                    self._commit(taken)
                finally:
                    self._started = None
                    with self._cond:
                        self._busy = 0
                        self._cond.notify_all()
        except StoreUnusable as exc:
            self.failed(f"the journal {getattr(self.store, 'path', '')}: {exc}")
        finally:
            close = getattr(self.store, "close", None)
            if callable(close):
                close()  # this thread's connection
            delivered.close()
            with self._cond:
                self._cond.notify_all()

    def _commit(self, taken: list[tuple[Job, Outcome]]) -> None:
        if self.delivered is not None:  # the journal: reconcile's record of what was done
            # Noted before the outcomes are recorded: a worker killed between the two
            # runs the job again (the record says so again), never the other way round,
            # a delete done in the journal (its spool file removed) that the record
            # misses, which would let a create imported again run after it.
            done = [job for job, o in taken if o.status == "done" and not o.error]
            journal = self.delivered  # error: not run
            persist(lambda: delivered.note_many(journal, done, strict=True),
                    f"note {len(done)} deferred job(s) in the delivered record")
        many = getattr(self.store, "record_many", None)
        if callable(many):
            recorded: list[bool] = persist(
                lambda: many([(job, o.status, o.delay, o.error) for job, o in taken]),
                f"record {len(taken)} deferred job outcome(s)")
        else:
            recorded = [self._one(job, o) for job, o in taken]
        for (job, outcome), ok in zip(taken, recorded):
            self.after(job, outcome, ok)

    def _one(self, job: Job, outcome: Outcome) -> bool:
        def record() -> bool:
            if outcome.status == "done":
                return bool(self.store.done(job))
            if outcome.status == "dead":
                return bool(self.store.dead(job, outcome.error))
            return bool(self.store.again(job, outcome.delay, outcome.error))

        return persist(record, f"record deferred job {job.id} as {outcome.status}")

"""One run of one deferred job, the same for the one-host worker and the broker's lanes.

:class:`Execution` calls the plugin's observer under its time limit
(:mod:`.middleware.time_limit`), hands a failure to the retry policy
(:mod:`.middleware.retries`) with the plugin's own values
(:mod:`.middleware.overrides`), and returns an :class:`Outcome`: done, again
after a delay, or dead, with the error text. The engines then only record
the outcome in their store (the journal, the broker) and log it with
:func:`log_outcome`, in the same words for both.

Nothing a plugin raises or calls ends the lane that runs it: the call runs
in an execution thread and whatever it raised (``SystemExit`` from
``sys.exit()``, ``KeyboardInterrupt``, a bad ``Retry``) is a failed run.
``os._exit`` aside, which ends the process: its jobs' leases run out (on one
host a job claimed again after ``max_attempts`` such runs is dead:
:meth:`.worker.Worker.ended_each_run`).

Recording an outcome can fail for a moment (the journal's disk full at
``done()``): :func:`persist` tries again with a backoff (:mod:`.reconnect`) for up to
:data:`STORE_PATIENCE` seconds, then gives up with :class:`StoreUnusable`,
and the worker exits non-zero (its service manager restarts it).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable, TypeVar

from nova_hookspec._call.policy import describe_exception
from nova_hookspec._plugins.manager import NovaPluginManager
from nova_hookspec.deferred import carry
from nova_hookspec.deferred.jobs import Job
from nova_hookspec.deferred.middleware import retries
from nova_hookspec.deferred.middleware.overrides import Policies, Policy
from nova_hookspec.deferred.middleware.time_limit import Caller, NotStarted, TimeLimitExceeded
from nova_hookspec.deferred.reconnect import Backoff

log = logging.getLogger("nova_hookspec.worker")

#: Seconds a store may fail to record before the worker gives up (exits non-zero).
STORE_PATIENCE = 300.0

_T = TypeVar("_T")


def call_plugin(pm: NovaPluginManager, job: Job) -> None:
    """Run ``job``'s observer with its arguments rebuilt (raises what it raised)."""
    record = pm.deferred.get((job.plugin, job.hook))
    if record is None:
        raise LookupError(f"plugin {job.plugin!r} has no deferred {job.hook!r} in this "
                          "worker (not installed, disabled, or no longer deferred)")
    values = carry.loads(job.payload)
    kwargs = {name: values.get(name) for name in record.carried}
    if "delivery" in record.names:
        kwargs["delivery"] = job.delivery()
    record.function(**kwargs)


#: The status of a run its admission refused (:class:`.liveness.StartGate`).
NOT_STARTED = "not started"


@dataclass(frozen=True)
class Outcome:
    """How one run ended.

    :param status: ``"done"``, ``"retry"`` (again after ``delay`` seconds) or ``"dead"``;
        ``"not started"`` for a run its lane runner no longer held when it was to start
        (:class:`.liveness.StartGate`).
    :param error: the failure, as the job's history and the log say it; with ``"done"``,
        why the job was not run.
    :param timed_out: the run passed its time limit (and was abandoned).
    :param seconds: how long the run took (up to its limit).
    """

    status: str
    delay: float = 0.0
    error: str = ""
    timed_out: bool = False
    seconds: float = 0.0

    @property
    def metric(self) -> str:
        """The metrics' outcome: ``done``, ``retry``, ``dead`` or ``timeout``."""
        return "timeout" if self.timed_out else self.status


class Execution:
    """Runs jobs of ``pm``'s deferred observers under their policies."""

    def __init__(self, pm: NovaPluginManager, policies: Policies) -> None:
        self.pm = pm
        self.policies = policies

    def policy(self, job: Job) -> Policy:
        return self.policies.of(job.plugin, job.hook)

    def run(self, job: Job, caller: Caller,
            admission: Callable[[], bool] | None = None) -> Outcome:
        """Run ``job`` (its ``attempts`` counts this run) in ``caller``'s thread, if
        ``admission`` (when given) still says yes there (else :data:`NOT_STARTED`)."""
        policy = self.policy(job)
        started = time.monotonic()
        exc = caller.call(lambda: call_plugin(self.pm, job), policy.time_limit, admission)
        seconds = time.monotonic() - started
        if exc is None:
            return Outcome("done", seconds=seconds)
        if isinstance(exc, NotStarted):
            return Outcome(NOT_STARTED)
        decision = retries.after_failure(exc, job.attempts, policy.max_attempts,
                                         policy.retry_min_backoff, policy.retry_max_backoff)
        error = describe_exception(exc) + (f" ({decision.note})" if decision.note else "")
        return Outcome("dead" if decision.dead else "retry", decision.delay, error,
                       isinstance(exc, TimeLimitExceeded), seconds)


def log_outcome(job: Job, outcome: Outcome, policy: Policy, recorded: bool = True,
                holding: bool = False) -> None:
    """Say how ``job``'s run ended, in the same words on one host and across hosts.

    :param recorded: ``False`` when the store refused the record (the run was no
        longer this worker's: its lease ran out and another run took the job).
    :param holding: a retry holds its instance's later jobs (the broker's lanes).
    """
    what = f"deferred job {job.delivery().job_id} ({job.plugin}, {job.hook})"
    if not recorded:
        log.warning("%s: its %s after attempt %d is not recorded: the job is no longer "
                    "this run's (its lease ran out and another run took it)", what,
                    outcome.status, job.attempts)
    elif outcome.status == "done" and outcome.error:  # recorded done without a run
        log.warning("%s not run: %s", what, outcome.error)
    elif outcome.status == "done":
        log.info("%s done, attempt %d", what, job.attempts)
    elif outcome.status == "dead":
        log.error("%s is dead after %d attempt(s): %s", what, job.attempts, outcome.error)
    else:
        log.warning("%s failed, attempt %d of %d: %s; again in %.1f s%s", what, job.attempts,
                    policy.max_attempts, outcome.error, outcome.delay,
                    ", holding its instance's later jobs" if holding else "")


class StoreUnusable(Exception):  # noqa: N818 - it says what happened
    """The store refused to record for longer than :data:`STORE_PATIENCE`."""


def persist(action: Callable[[], _T], what: str, stopping: threading.Event | None = None,
            patience: float | None = None) -> _T:
    """``action()``, tried again with a backoff while it raises (a store's transient
    I/O error: disk full, a lock held too long).

    Logged once per episode: one WARNING at the first failure, one INFO when it
    works again (a disk full for minutes is two lines, not one per try).

    :raises StoreUnusable: it still failed after ``patience`` seconds
        (:data:`STORE_PATIENCE` by default), or on stop.
    """
    patience = STORE_PATIENCE if patience is None else patience
    started = time.monotonic()
    deadline = started + patience
    backoff = Backoff(0.05, 5.0)
    tries = 0
    while True:
        try:
            done = action()
        except Exception as exc:
            tries += 1
            wait = backoff.failed()
            late = time.monotonic() + wait > deadline or (stopping is not None
                                                           and stopping.is_set())
            if late:
                raise StoreUnusable(f"could not {what} for {patience:g} s: "
                                    f"{describe_exception(exc)}") from exc
            if tries == 1:
                log.warning("could not %s (%s); trying again with a backoff for up to "
                            "%g s", what, describe_exception(exc), patience)
            time.sleep(wait)
            continue
        if tries:
            log.info("%s: it worked again after %d failed tries (%.1f s)", what, tries,
                     time.monotonic() - started)
        return done

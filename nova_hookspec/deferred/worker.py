"""The worker: claims deferred jobs under a lease and runs them in lanes.

Each lane is a thread that claims the next job that may run (the store
keeps the order per instance and plugin), runs the plugin's observer with
the arguments rebuilt, and says how it ended: done, again after a backoff,
or dead (:mod:`.retries`). While a job runs its lease is renewed; a worker
killed mid-job leaves a lease that runs out, and the job runs again
(at-least-once). A worker starting on the host gives back at once the jobs
of this host's workers that are gone.

Shutdown (SIGTERM, SIGINT): stop claiming, let the running jobs finish
within the grace period (``grace``, 30 s by default), give back the rest,
exit 0.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from typing import Any, Callable

from nova_hookspec._call.policy import describe_exception
from nova_hookspec._plugins.manager import NovaPluginManager
from nova_hookspec.deferred import carry, retries
from nova_hookspec.deferred.brokers.journal import Journal
from nova_hookspec.deferred.jobs import Job
from nova_hookspec.deferred.settings import Settings

log = logging.getLogger("nova_hookspec.worker")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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


class Worker:
    """Runs the deferred jobs of ``store`` with the plugins of ``pm``.

    :param lanes: jobs run at the same time (threads).
    :param grace: seconds the running jobs get to finish on shutdown.
    :param poll: seconds a lane waits when no job may run.
    """

    def __init__(self, store: Journal, pm: NovaPluginManager, settings: Settings, *,
                 lanes: int = 1, grace: float = 30.0, poll: float = 0.2,
                 observe: Callable[[Job, float], None] | None = None) -> None:
        self.store = store
        self.pm = pm
        self.settings = settings
        self.lanes = max(1, lanes)
        self.grace = grace
        self.poll = poll
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._running: dict[int, Job] = {}
        self._lanes_left = 0
        #: Called after each run with the job and its seconds (the metrics).
        self.observe = observe
        self.name = f"{store.host}:{os.getpid()}"

    # ------------------------------------------------------------ one job

    def run_job(self, job: Job) -> None:
        started = time.monotonic()
        try:
            call_plugin(self.pm, job)
        except BaseException as exc:
            self._failed(job, exc)
            if not isinstance(exc, Exception):
                raise
        else:
            self.store.done(job)
            log.info("deferred job %s (%s, %s) done, attempt %d", job.id, job.plugin, job.hook,
                     job.attempts)
        finally:
            if self.observe is not None:
                self.observe(job, time.monotonic() - started)

    def _failed(self, job: Job, exc: BaseException) -> None:
        s = self.settings
        outcome = retries.after_failure(exc, job.attempts, s.max_attempts, s.retry_min_backoff,
                                        s.retry_max_backoff)
        error = describe_exception(exc)
        if outcome.dead:
            self.store.dead(job, error)
            log.error("deferred job %s (%s, %s) is dead after %d attempt(s): %s", job.id,
                      job.plugin, job.hook, job.attempts, error)
        else:
            self.store.again(job, outcome.delay, error)
            log.warning("deferred job %s (%s, %s) failed, attempt %d of %d: %s; again in "
                        "%.1f s", job.id, job.plugin, job.hook, job.attempts, s.max_attempts,
                        error, outcome.delay)

    def _keep_leases(self) -> None:
        """Renew, every third of a lease, the lease of every job the lanes run."""
        while True:
            time.sleep(self.settings.lease / 3)
            with self._lock:
                running = list(self._running.values())
            for job in running:
                try:
                    self.store.renew(job, self.name, self.settings.lease)
                except Exception:
                    log.warning("could not renew the lease of deferred job %s", job.id,
                                exc_info=True)

    # ------------------------------------------------------------ lanes

    def _lane(self, drain: bool) -> None:
        try:
            self._claim_and_run(drain)
        finally:
            with self._lock:
                self._lanes_left -= 1

    def _claim_and_run(self, drain: bool) -> None:
        while not self.stopping.is_set():
            job = self.store.claim(self.name, self.settings.lease)
            if job is None:
                with self._lock:
                    idle = not self._running
                if drain and idle and not self._unfinished():
                    return
                self.stopping.wait(self.poll)
                continue
            with self._lock:
                self._running[job.id] = job
            try:
                self.run_job(job)
            finally:
                with self._lock:
                    self._running.pop(job.id, None)

    def _unfinished(self) -> bool:
        """Whether a job is still pending (retries waiting for their time included)
        or running: ``--drain`` waits for them; dead jobs it leaves."""
        status = self.store.status()
        return bool(status["pending"] or status["running"])

    def run(self, drain: bool = False) -> int:
        """Run until stopped (or, with ``drain``, until every job is done or dead); the
        exit status."""
        self.pm.load_all()  # legacy classes load when their point is first called: not here
        given_back = self.store.release_dead_workers(_alive)
        log.info("nova_hookspec worker %s: %d lane(s), journal %s%s", self.name, self.lanes,
                 self.store.path, f", {given_back} job(s) of a stopped worker given back"
                 if given_back else "")
        # Lanes say when they are done (a count, not Thread.is_alive(): a thread that ran
        # greenlets, as Nova's imports may start, can stay "alive" after it returned on old
        # greenlet releases).
        self._lanes_left = self.lanes
        threading.Thread(target=self._keep_leases, name="leases", daemon=True).start()
        for n in range(self.lanes):
            threading.Thread(target=self._lane, args=(drain,), name=f"lane-{n}",
                             daemon=True).start()
        while self._lanes_left and not self.stopping.is_set():
            time.sleep(0.1)
        if self.stopping.is_set():
            deadline = time.monotonic() + self.grace
            while self._lanes_left and time.monotonic() < deadline:
                time.sleep(0.05)
            with self._lock:
                unfinished = list(self._running.values())
            for job in unfinished:
                self.store.release(job)
            log.info("nova_hookspec worker %s stopped: %d job(s) not finished within the "
                     "grace period given back", self.name, len(unfinished))
        return 0

    def stop(self, *_: Any) -> None:
        """Stop claiming; running jobs get the grace period (a signal handler)."""
        self.stopping.set()

    def handle_signals(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)

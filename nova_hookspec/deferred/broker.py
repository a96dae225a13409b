"""Where deferred jobs are kept, as the worker and the CLI see it.

A store takes jobs from hooked calls (:meth:`Store.enqueue`), hands them to
workers one at a time under a lease (:meth:`Store.claim`), and records how a
run ended (:meth:`Store.done`, :meth:`Store.again`, :meth:`Store.dead`). The
one-host store is the SQLite journal (:mod:`.brokers.journal`); the
in-memory stub (:mod:`.backends.stub`) keeps the same promises for tests.

Across hosts the journal stays where the hooked call writes, as an outbox,
and RabbitMQ carries the jobs (:mod:`.brokers.rabbit`): the relay
(:mod:`.relay`) moves them from the one to the other, and lane runners
(:mod:`.consumer`) run them with the broker's own primitives (exclusive
consumers, acks, confirms) instead of claims and leases.

The promises every store keeps:

* a job is kept once :meth:`enqueue` returned, until a worker said it is
  done, or it is dead and an operator dropped it;
* :meth:`claim` never hands out a job while an earlier job sharing one of its
  order keys (plugin and instance) is pending or running;
* a claimed job whose lease ran out (its worker died) is handed out again;
* a run's record (:meth:`done`, :meth:`again`, :meth:`dead`, :meth:`release`,
  :meth:`renew`) acts only while that run still holds the job (its worker,
  :attr:`Job.worker`, and its attempt): a late or stale run records nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Callable, Protocol

from nova_hookspec.deferred.jobs import Job


class Store(Protocol):
    """Where deferred jobs are kept."""

    #: The host whose jobs these are (job ids are ``HOST:N``); where (for the log).
    host: str
    path: str

    def enqueue(self, plugin: str, hook: str, keys: Sequence[str], payload: str,
                meta: str = "{}") -> int:
        """Keep one job durably; its id."""

    def claim(self, worker: str, lease: float) -> Job | None:
        """The next job due whose order keys hold no earlier job, leased to ``worker``."""

    def renew(self, job: Job, worker: str, lease: float) -> bool:
        """Extend the lease of a job still held by this run; whether it still is."""

    def done(self, job: Job) -> bool:
        """The job ran to completion: forget it (only if this run still holds it:
        whether it did; so for the three below)."""

    def again(self, job: Job, delay: float, error: str) -> bool:
        """The run failed: run it again in ``delay`` seconds."""

    def dead(self, job: Job, error: str) -> bool:
        """The job failed for good: keep it in the dead letters."""

    def release(self, job: Job) -> bool:
        """Give a claimed job back, not run (the worker stops)."""

    def release_dead_workers(self, alive: Callable[[str], bool]) -> int:
        """Give back at once the jobs of this host's workers that are gone
        (``alive(worker)`` says whether a worker, by name, may still run)."""

    def status(self) -> dict[str, Any]:
        """Counts and ages for ``deferred status``."""

    def jobs(self, dead: bool = False, limit: int = 100) -> list[dict[str, Any]]:
        """The pending (or dead) jobs, without their arguments."""

    def retry(self, job_id: int | None = None) -> int:
        """Make a dead job (or every dead job) pending again; how many."""

    def drop(self, job_id: int) -> int:
        """Forget a dead job; how many."""

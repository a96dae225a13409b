"""An in-memory store with the journal's semantics, for fast in-process tests.

As dramatiq's ``StubBroker``: the one-host worker runs against it exactly as
against :class:`~nova_hookspec.deferred.brokers.journal.Journal` (claims
in order per key, leases, the fencing of a run's record, dead letters), so
that retries, time limits and the lanes can be tested in a fraction of a
second, with faults injected by replacing a method. Nothing is durable and
nothing is shared between processes: never a store for a real service.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from nova_hookspec.deferred.jobs import Job

if TYPE_CHECKING:
    from nova_hookspec.deferred.broker import Store


@dataclass
class _Row:
    id: int
    plugin: str
    hook: str
    payload: str
    keys: frozenset[str]
    enqueued: float
    due: float
    state: str = "pending"
    attempts: int = 0
    worker: str | None = None
    lease_until: float = 0.0
    history: list[dict[str, Any]] = field(default_factory=list)


class StubStore:
    """Deferred jobs in this process's memory (thread-safe)."""

    def __init__(self, host: str = "stub") -> None:
        self.host = host
        self.path = ":memory:"
        self._lock = threading.Lock()
        self._rows: dict[int, _Row] = {}
        self._next = 1
        self.counters: dict[tuple[str, str, str], int] = {}

    def _count(self, row: _Row, what: str) -> None:
        key = (row.plugin, row.hook, what)
        self.counters[key] = self.counters.get(key, 0) + 1

    def enqueue(self, plugin: str, hook: str, keys: Sequence[str], payload: str,
                meta: str = "{}") -> int:
        now = time.time()
        with self._lock:
            row = _Row(self._next, plugin, hook, payload,
                       frozenset(f"{plugin}|{key}" for key in keys or ("",)), now, now)
            self._rows[row.id] = row
            self._next += 1
            self._count(row, "enqueued")
            return row.id

    def _claimable(self, row: _Row, now: float) -> bool:
        if not ((row.state == "pending" and row.due <= now)
                or (row.state == "running" and row.lease_until < now)):
            return False
        return not any(other.id < row.id and other.state in ("pending", "running")
                       and other.keys & row.keys for other in self._rows.values())

    def claim(self, worker: str, lease: float) -> Job | None:
        now = time.time()
        with self._lock:
            for row in sorted(self._rows.values(), key=lambda r: r.id):
                if self._claimable(row, now):
                    row.state, row.worker, row.lease_until = "running", worker, now + lease
                    row.attempts += 1
                    return Job(row.id, row.plugin, row.hook, row.payload, row.attempts,
                               row.enqueued, host=self.host, history=list(row.history),
                               worker=worker)
        return None

    def _held(self, job: Job, worker: str | None = None) -> _Row | None:
        """``job``'s row if the run of ``job`` still holds it (fencing)."""
        row = self._rows.get(job.id)
        if (row is None or row.state != "running" or row.attempts != job.attempts
                or row.worker != (job.worker if worker is None else worker)):
            return None
        return row

    def renew(self, job: Job, worker: str, lease: float) -> bool:
        with self._lock:
            row = self._held(job, worker)
            if row is not None:
                row.lease_until = time.time() + lease
            return row is not None

    def done(self, job: Job) -> bool:
        with self._lock:
            row = self._held(job)
            if row is not None:
                del self._rows[row.id]
                self._count(row, "done")
            return row is not None

    def _failed(self, job: Job, error: str, state: str, due: float, what: str) -> bool:
        with self._lock:
            row = self._held(job)
            if row is not None:
                row.history = [*row.history, {"attempt": job.attempts, "at": time.time(),
                                              "error": error}][-20:]
                row.state, row.due, row.worker, row.lease_until = state, due, None, 0.0
                self._count(row, what)
            return row is not None

    def again(self, job: Job, delay: float, error: str) -> bool:
        return self._failed(job, error, "pending", time.time() + delay, "retried")

    def dead(self, job: Job, error: str) -> bool:
        return self._failed(job, error, "dead", 0.0, "dead")

    def release(self, job: Job) -> bool:
        with self._lock:
            row = self._held(job)
            if row is not None:
                row.state, row.worker, row.lease_until = "pending", None, 0.0
                row.attempts -= 1
            return row is not None

    def release_dead_workers(self, alive: Callable[[str], bool]) -> int:
        return 0  # one process: its workers are alive while it is

    def status(self) -> dict[str, Any]:
        with self._lock:
            states = [row.state for row in self._rows.values()]
            counters = [{"plugin": p, "hook": h, "what": w, "count": n}
                        for (p, h, w), n in sorted(self.counters.items())]
        return {"journal": self.path, "pending": states.count("pending"),
                "running": states.count("running"), "dead": states.count("dead"),
                "oldest_pending_age": None, "counters": counters}

    def jobs(self, dead: bool = False, limit: int = 100) -> list[dict[str, Any]]:
        states = ("dead",) if dead else ("pending", "running")
        with self._lock:
            rows = sorted((r for r in self._rows.values() if r.state in states),
                          key=lambda r: r.id)[:limit]
            return [{"id": r.id, "plugin": r.plugin, "hook": r.hook, "state": r.state,
                     "attempts": r.attempts, "enqueued_at": r.enqueued, "due_at": r.due,
                     "history": list(r.history)} for r in rows]

    def retry(self, job_id: int | None = None) -> int:
        with self._lock:
            rows = [r for r in self._rows.values() if r.state == "dead"
                    and (job_id is None or r.id == job_id)]
            for row in rows:
                row.state, row.due, row.attempts = "pending", time.time(), 0
            return len(rows)

    def drop(self, job_id: int) -> int:
        with self._lock:
            row = self._rows.get(job_id)
            if row is None or row.state != "dead":
                return 0
            del self._rows[job_id]
            return 1


if TYPE_CHECKING:
    def _a_store(stub: StubStore) -> Store:
        """mypy checks here that the stub is a :class:`~.broker.Store`."""
        return stub

"""A deferred job, what a plugin knows of its delivery, and ``Retry``.

One job is one call of one deferred plugin's observer: the plugin, the hook,
the instance it is about (its UUID, for order), and the carried arguments.
A plugin that asks for ``delivery`` gets a :class:`Delivery` to make its work
idempotent: the job id is the same on every attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class Retry(Exception):  # noqa: N818 - named as dramatiq and Celery name it
    """Raised by a deferred plugin: run this job again after ``delay`` seconds.

    It counts as an attempt; once ``max_attempts`` are used the job goes to
    the dead letters as any failing job does. Raised by a plugin that is not
    deferred, it is an ordinary plugin failure (logged; the call goes on).

    :param delay: seconds to wait; ``None`` uses the backoff policy, and so does a
        delay that is not a finite number of seconds, 0 or more (the job's error
        says so).
    :param reason: said in the job's history and the worker's log.
    """

    def __init__(self, delay: float | None = None, reason: str = "") -> None:
        super().__init__(reason or (f"retry in {delay} s" if delay is not None else "retry"))
        self.delay = delay
        self.reason = reason


@dataclass(frozen=True)
class Delivery:
    """What a deferred observer may ask for (``delivery``) to make its work idempotent.

    :param job_id: the job's id, the same on every attempt (``host:number``).
    :param attempt: 1 on the first run, 2 on the first retry, and so on.
    :param enqueued_at: when the hooked call wrote the job (seconds since the epoch).
    :param source: ``"hook"`` for a job a hooked call wrote, ``"reconcile"`` for one a
        reconcile pass queued (``nova-hookspec reconcile``).
    """

    job_id: str
    attempt: int
    enqueued_at: float
    source: str = "hook"


@dataclass
class Job:
    """One job as a store hands it to a worker.

    :param id: the store's id of it.
    :param plugin: the registered plugin name.
    :param hook: the pluggy hook (``NAME_post``).
    :param payload: the carried arguments (:mod:`nova_hookspec.deferred.carry`).
    :param attempts: runs started so far, this one included once ``started``.
    :param enqueued_at: when the hooked call wrote it.
    :param worker: the worker (``HOST:PID``) running it; with ``attempts``, what
        fences its records: a store records a run's outcome only while the job is
        still held by that run.
    :param keys: the instances it is about (its order keys, without the plugin).
    :param source: who wrote it (its meta's ``source``; ``"hook"`` when unset).
    :param started: its run is counted in ``attempts``; ``False`` for a job the
        journal handed out that no lane started yet (its ``start`` counts it then).
    """

    id: int
    plugin: str
    hook: str
    payload: str
    attempts: int
    enqueued_at: float
    host: str = ""
    history: list[dict[str, Any]] | None = None
    worker: str = ""
    keys: tuple[str, ...] = ()
    source: str = "hook"
    started: bool = True

    def delivery(self) -> Delivery:
        return Delivery(f"{self.host}:{self.id}", self.attempts, self.enqueued_at, self.source)

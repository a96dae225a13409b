"""Retries: exponential backoff with jitter, ``Retry``, dead letters.

Defaults (``[nova_hookspec]`` in nova.conf, or ``NOVA_HOOKSPEC_<NAME>``):

* ``max_attempts = 10``: runs of a job before it goes to the dead letters;
* ``retry_min_backoff = 1.0`` s before the first retry, doubled each retry;
* ``retry_max_backoff = 600.0`` s at most between two runs.

The wait is drawn uniformly between half and all of the doubled value
("equal jitter"), so that the jobs of one outage do not all come back at
once. ``Retry(delay=...)`` from a plugin sets the wait itself (it still
counts as a run); ``FatalHookException`` sends the job to the dead letters at
once.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from nova_hookspec._spec.errors import FatalHookException
from nova_hookspec.deferred.jobs import Retry


@dataclass(frozen=True)
class Outcome:
    """What becomes of a job whose run raised: run again after ``delay``, or dead."""

    dead: bool
    delay: float = 0.0


def backoff(attempt: int, low: float, high: float) -> float:
    """The wait after run number ``attempt`` failed (1 = the first run)."""
    ceiling = min(high, low * (2 ** max(0, attempt - 1)))
    return random.uniform(ceiling / 2, ceiling)


def after_failure(exc: BaseException, attempt: int, max_attempts: int, low: float,
                  high: float) -> Outcome:
    """What to do with a job whose run number ``attempt`` raised ``exc``."""
    if isinstance(exc, FatalHookException):
        return Outcome(dead=True)
    if attempt >= max_attempts:
        return Outcome(dead=True)
    if isinstance(exc, Retry) and exc.delay is not None:
        return Outcome(dead=False, delay=max(0.0, exc.delay))
    return Outcome(dead=False, delay=backoff(attempt, low, high))

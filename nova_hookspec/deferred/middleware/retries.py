"""Retries: exponential backoff with jitter, ``Retry``, dead letters.

Defaults (``[nova_hookspec]`` in nova.conf, or ``NOVA_HOOKSPEC_<NAME>``; per
plugin, :mod:`.overrides`):

* ``max_attempts = 10``: runs of a job before it goes to the dead letters;
* ``retry_min_backoff = 1.0`` s before the first retry, doubled each retry;
* ``retry_max_backoff = 600.0`` s at most between two runs.

The wait is drawn uniformly between half and all of the doubled value
("equal jitter"), so that the jobs of one outage do not all come back at
once. ``Retry(delay=...)`` from a plugin sets the wait itself (it still
counts as a run), **bounded by** ``retry_max_backoff`` like every other wait
(the plugin's own value when overridden; a year at most, the settings'
bound): a larger delay (``Retry(delay=1e308)`` made a job due after the end
of time, and ``worker --drain`` never ended) waits ``retry_max_backoff``
seconds, and the job's error says so; raise ``retry_max_backoff`` for the
plugin when it needs longer waits. A delay that is not a finite number of
seconds, 0 or more (``Retry(delay="5")``, ``inf``, ``-1``) is said in the
job's error and the backoff is used instead. ``FatalHookException`` sends the job to the dead
letters at once. Whatever the plugin raised, a failure is only ever a
decision here: it never ends the lane that ran it.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from nova_hookspec._spec.errors import FatalHookException
from nova_hookspec.deferred.jobs import Retry


@dataclass(frozen=True)
class Decision:
    """What becomes of a job whose run failed: run again after ``delay``, or dead.

    :param note: what the plugin asked for and did not get (a bad ``Retry`` delay).
    """

    dead: bool
    delay: float = 0.0
    note: str = ""


def backoff(attempt: int, low: float, high: float) -> float:
    """The wait after run number ``attempt`` failed (1 = the first run)."""
    ceiling = min(high, low * (2 ** min(64, max(0, attempt - 1))))
    return random.uniform(ceiling / 2, ceiling)


def retry_delay(exc: BaseException, high: float) -> tuple[float | None, str]:
    """The delay a ``Retry`` asks for, at most ``high`` (``None``: the backoff's), and
    why it was refused or shortened."""
    if not isinstance(exc, Retry) or exc.delay is None:
        return None, ""
    delay = exc.delay
    shown = repr(delay) if len(repr(delay)) <= 40 else f"{repr(delay)[:37]}..."
    if (isinstance(delay, bool) or not isinstance(delay, (int, float))
            or (isinstance(delay, float) and not math.isfinite(delay)) or delay < 0):
        return None, (f"Retry(delay={shown}) is not a finite number of seconds, 0 or "
                      "more: the backoff is used")
    if delay > high:  # an int past float's range too (10 ** 400)
        return high, (f"Retry(delay={shown}) is more than retry_max_backoff = {high:g} s: "
                      f"waits {high:g} s")
    return float(delay), ""


def after_failure(exc: BaseException, attempt: int, max_attempts: int, low: float,
                  high: float) -> Decision:
    """What to do with a job whose run number ``attempt`` raised ``exc``."""
    if isinstance(exc, FatalHookException):
        return Decision(dead=True)
    delay, note = retry_delay(exc, high)
    if attempt >= max_attempts:
        return Decision(dead=True, note=note)
    if delay is None:
        delay = backoff(attempt, low, high)
    return Decision(dead=False, delay=delay, note=note)

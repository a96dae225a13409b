"""Reconcile passes on a schedule, inside a long-running process (the worker).

``nova-hookspec worker --reconcile-every 1h`` runs a pass every hour in a
thread of the worker, the first one at start: a pass that fails (Nova's API
unreachable, a listing cut, a refusal over ``--max-deletes``) is logged and
counted (:mod:`.state`), and the next one comes at its time anyway; a pass
never overlaps the next (one thread). The other way is a systemd timer
running ``nova-hookspec reconcile`` (``deploy/systemd/``).

The passes use the defaults of :mod:`.engine` and Nova's API from
``OS_CLOUD`` or the ``OS_*`` variables of the worker's environment.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any, Callable

log = logging.getLogger("nova_hookspec.reconcile")

_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
#: The longest duration taken: a century.
LONGEST = 36500 * 86400.0


def seconds(text: str) -> float:
    """A duration (``90``, ``90s``, ``15m``, ``6h``, ``1d``) in seconds.

    :raises ValueError: naming the text.
    """
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if found is None:
        raise ValueError(f"{text!r} is not a duration (a number of seconds, or with s, m, h, d)")
    duration = float(found.group(1)) * _UNITS[found.group(2)]
    if duration > LONGEST:
        # Past any calendar (changes-since's date) or timer (the schedule's wait).
        shown = text if len(text) <= 40 else f"{text[:37]}..."
        raise ValueError(f"{shown!r} is longer than {LONGEST / 86400:.0f} days")
    return duration


def every(interval: float, one_pass: Callable[[], Any], stop: threading.Event) -> None:
    """Run ``one_pass`` now and then every ``interval`` seconds until ``stop`` is set."""
    while not stop.is_set():
        try:
            one_pass()
        except Exception:
            log.exception("reconcile: the pass failed; the next one runs in %.0f s", interval)
        stop.wait(interval)


def start(interval: float, one_pass: Callable[[], Any]) -> threading.Event:
    """Run :func:`every` in a daemon thread; the event that stops it."""
    stop = threading.Event()
    threading.Thread(target=every, args=(interval, one_pass, stop), name="reconcile",
                     daemon=True).start()
    return stop

"""Trying again with a backoff: one helper for every loop that reconnects or retries.

Why one. The relay, the lane runners and the presence announcer each
reconnect to the broker when it goes away, and :func:`.execution.persist`
tries a store's write again on a transient error (a full disk). Each had
written its own doubling wait; here is the one they use, so that a change
(a cap, a reset) is made once.

:class:`Backoff` is the wait: ``first`` seconds after the first failure,
doubled after each further one up to ``most``, back to ``first`` once it
worked. :func:`connections` is the loop around a connection: connect, hand
it to the caller, release it (quietly: it may be broken) when the caller is
done with it, and after a failed connect say so and wait the backoff (cut
short by the stop event).

Defaults: :data:`FIRST` seconds first, :data:`MOST` at most (a broker back
after an outage is used again within half a minute).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Callable, Protocol, TypeVar

#: Seconds waited after the first failure.
FIRST = 0.5
#: Seconds waited at most between two tries.
MOST = 30.0


class Backoff:
    """A doubling wait between tries: :meth:`failed` after each failure, :meth:`reset`
    once it worked."""

    def __init__(self, first: float = FIRST, most: float = MOST) -> None:
        self.first = first
        self.most = most
        #: The wait after the next failure.
        self.delay = first

    def failed(self) -> float:
        """The seconds to wait after this failure (the next wait doubles, up to
        ``most``)."""
        delay = self.delay
        self.delay = min(self.most, delay * 2)
        return delay

    def reset(self) -> None:
        """It worked: the next failure waits ``first`` again."""
        self.delay = self.first


class Releasable(Protocol):
    def release(self) -> object: ...


_C = TypeVar("_C", bound=Releasable)


def connections(connect: Callable[[], _C], stopping: threading.Event, backoff: Backoff,
                unreachable: Callable[[BaseException, float], None],
                looped: Callable[[], None] | None = None) -> Iterator[_C]:
    """Connections from ``connect()`` until ``stopping`` is set, one at a time.

    Each is released once the caller's loop body is done with it. A failed
    ``connect()`` calls ``unreachable(exc, wait)`` (to say it), then waits ``wait``
    seconds of ``backoff``. ``looped`` is called before each try (the liveness the
    metrics read)."""
    while not stopping.is_set():
        if looped is not None:
            looped()
        try:
            conn = connect()
        except Exception as exc:  # noqa: BLE001 - the broker is away: try again
            wait = backoff.failed()
            unreachable(exc, wait)
            stopping.wait(wait)
            continue
        backoff.reset()
        try:
            yield conn
        finally:
            with contextlib.suppress(Exception):  # closing a broken connection
                conn.release()

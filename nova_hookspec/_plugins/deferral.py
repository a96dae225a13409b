"""Which post observers are deferred, and what runs in their place.

An observer is deferred when it is marked ``@hookimpl(deferred=True)`` or
the operator names its plugin in the ``deferred`` control. The hooked call
then runs, in the observer's place, a function that writes a job; the
observer itself is kept for the worker (:attr:`Deferred.function`).

Writing jobs is the deferred machinery's (:mod:`nova_hookspec.deferred`),
one layer up; it says here how to make the function that writes them
(:func:`provide`), as the plugin layer provides the call model's plans.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol


@dataclass(frozen=True)
class Deferred:
    """A deferred observer.

    :param plugin: the registered plugin name.
    :param hook: its hook (``NAME_post``).
    :param function: the observer, which the worker calls.
    :param names: the arguments it asks for, in its parameters' order
        (``delivery`` included).
    :param legacy: whether it is a legacy class's ``post``.
    :param extra: what the call also passes to the job writer when the observer
        does not ask for it: for the job's order (``instance``, ``result``) and
        to blank the password wherever it is (``admin_password``).
    """

    plugin: str
    hook: str
    function: Callable[..., Any]
    names: tuple[str, ...]
    legacy: bool = False
    extra: tuple[str, ...] = ()

    @property
    def carried(self) -> tuple[str, ...]:
        """The arguments the hooked call writes (all but ``delivery``)."""
        return tuple(n for n in self.names if n != "delivery")


class Enqueuers(Protocol):
    def __call__(self, deferred: Deferred) -> Callable[..., None]:
        """The function the hooked call runs in ``deferred``'s place: it is called
        with the values of :attr:`Deferred.carried`, then :attr:`Deferred.extra`."""


_make: Enqueuers | None = None


def provide(make: Enqueuers) -> None:
    """Say how the function that writes a deferred observer's job is made."""
    global _make
    _make = make


def enqueuer(deferred: Deferred) -> Callable[..., None]:
    """The function the hooked call runs in ``deferred``'s place."""
    if _make is None:
        raise RuntimeError("nova_hookspec.deferred is not imported: import nova_hookspec")
    return _make(deferred)

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

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from nova_hookspec._call.legacy import LegacyHook
from nova_hookspec._plugins import validation as _validation
from nova_hookspec._plugins.controls import DEFERRED_ENV, Controls
from nova_hookspec._spec import points as _points
from nova_hookspec._spec.markers import POLICY_OPTIONS

log = logging.getLogger("nova_hookspec")


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
    :param policy: the run policy options its ``@hookimpl`` set (``max_attempts``,
        ``time_limit``...: :data:`~nova_hookspec._spec.markers.POLICY_OPTIONS`).
    :param keys: every name an operator may give its plugin (for the
        ``[nova_hookspec:PLUGIN]`` section of nova.conf).
    """

    plugin: str
    hook: str
    function: Callable[..., Any]
    names: tuple[str, ...]
    legacy: bool = False
    extra: tuple[str, ...] = ()
    policy: dict[str, Any] = field(default_factory=dict, compare=False)
    keys: frozenset[str] = frozenset()

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


def put_job_writer(controls: Controls, keys: frozenset[str], plugin: object, plugin_name: str,
                   hook_name: str, impl: Any) -> Deferred | None:
    """Put a job writer in the place of ``impl`` if it is a deferred post observer
    (marked, or named in the operator's ``deferred`` control: ``keys`` are the
    plugin's names); the deferred observer, or ``None``.

    An operator's deferral the observer cannot take (it asks for the hooked
    object) is logged and the observer runs in the call.
    """
    located = _points.hook_phase(hook_name)
    if located is None or located[1] != "post":
        return None
    point = located[0]
    if not impl.opts.get("deferred"):
        if not controls.defers(keys, point.name):
            return None
        where = f"plugin {plugin_name!r}, hook {hook_name!r}"
        problems = list(_validation.deferral_problems(where, point, impl.function))
        if problems:
            log.error("nova_hookspec: %s; it is named in %s but runs in the call, not "
                      "deferred", "; ".join(problems),
                      controls.sources.get("deferred", DEFERRED_ENV))
            return None
    legacy = isinstance(plugin, LegacyHook)
    names = tuple(impl.argnames) if legacy else (*impl.argnames, *impl.kwargnames)
    # For the job's order (instance, result) and to blank the password wherever the
    # observer would get it (admin_password: in args, too, where Nova passes it so).
    extra = tuple(n for n in ("instance", "result", "admin_password")
                  if n in point.hook_args("post") and n not in names)
    policy = {name: impl.opts[name] for name in POLICY_OPTIONS
              if impl.opts.get(name) is not None}
    record = Deferred(plugin_name, hook_name, impl.function, names, legacy, extra, policy,
                      frozenset({plugin_name, *keys}))
    impl.argnames = (*record.carried, *extra)
    impl.kwargnames = ()
    impl.function = enqueuer(record)
    impl.opts = {**impl.opts, "deferred": True}
    return record


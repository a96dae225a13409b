"""Hook-call tracing with per-plugin durations.

Enabled with ``NOVA_HOOKSPEC_TRACE=1`` for a live process (read when the
process-wide manager is built) or :func:`enable` in code; ``nova-hookspec
demo --trace`` uses it too. Each hook call is logged at INFO on the
``nova_hookspec.trace`` logger with the time each plugin took, in run order.

It rides on pluggy's hook-call monitoring; the per-plugin clock is read by
the hook executor (:mod:`nova_hookspec._call.executor`) only while tracing is on.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
import weakref
from typing import Any, Callable, Mapping, Sequence

import pluggy

log = logging.getLogger("nova_hookspec.trace")

#: Whether any manager traces; the hook executor reads the clock only then.
active = 0

#: The traced hook calls under way in this context, innermost last. A context
#: variable, not a thread-local: each thread and each green thread (greenlet,
#: so eventlet's, whether nova_hookspec was imported before or after its
#: monkey patching) has its own.
_calls: contextvars.ContextVar[tuple[tuple[float, dict[str, float]], ...]] = (
    contextvars.ContextVar("nova_hookspec_traced_calls", default=())
)


def timings() -> dict[str, float] | None:
    """The per-plugin durations of the innermost traced hook call in this context."""
    calls = _calls.get()
    return calls[-1][1] if calls else None


def record(timing: dict[str, float], plugin_name: str, started: float) -> None:
    """Add the time since ``started`` to ``plugin_name``'s total."""
    timing[plugin_name] = timing.get(plugin_name, 0.0) + time.perf_counter() - started


def format_call(hook_name: str, timing: Mapping[str, float], total: float) -> str:
    """One trace line: ``hook NAME: plugin 0.012 ms, ...; total 0.050 ms``."""
    parts = ", ".join(f"{name} {seconds * 1e3:.3f} ms" for name, seconds in timing.items())
    return f"hook {hook_name}: {parts or 'no plugin'}; total {total * 1e3:.3f} ms"


#: Receives each traced hook call: hook name, per-plugin seconds in run order, total seconds.
Emitter = Callable[[str, Mapping[str, float], float], None]


def _log_call(hook_name: str, timing: Mapping[str, float], total: float) -> None:
    log.info("%s", format_call(hook_name, timing, total))


#: Per traced manager: its emitters, and how to take its monitoring off.
_traced: weakref.WeakKeyDictionary[
    pluggy.PluginManager, tuple[list[Emitter], Callable[[], None]]
] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _install(pm: pluggy.PluginManager, emitters: list[Emitter]) -> Callable[[], None]:
    def before(hook_name: str, impls: Sequence[pluggy.HookImpl], kwargs: Mapping[str, Any]) -> None:
        _calls.set((*_calls.get(), (time.perf_counter(), {})))

    def after(outcome: Any, hook_name: str, impls: Any, kwargs: Any) -> None:
        calls = _calls.get()
        started, timing = calls[-1]
        _calls.set(calls[:-1])
        total = time.perf_counter() - started
        for emit in list(emitters):
            emit(hook_name, timing, total)

    return pm.add_hookcall_monitoring(before, after)


def enable(
    pm: pluggy.PluginManager, emit: Emitter | None = None
) -> Callable[[], None]:
    """Trace every hook call of ``pm``; return a function that stops it.

    Several callers may trace the same manager: each hook call is timed once
    and every ``emit`` gets the line.

    :param emit: receives each traced call (default: log a line at INFO).
    """
    global active
    out = emit or _log_call
    with _lock:
        if pm not in _traced:
            new: list[Emitter] = []
            _traced[pm] = (new, _install(pm, new))
            active += 1
        emitters = _traced[pm][0]
        emitters.append(out)

    def undo() -> None:
        global active
        with _lock:
            if out in emitters:
                emitters.remove(out)
            if not emitters and pm in _traced:
                _traced.pop(pm)[1]()
                active -= 1

    return undo


def enable_if(pm: pluggy.PluginManager, wanted: bool) -> None:
    """Trace ``pm`` if the ``trace`` control (``NOVA_HOOKSPEC_TRACE``, ``trace`` in
    nova.conf's ``[nova_hookspec]``) says so."""
    if wanted:
        enable(pm)

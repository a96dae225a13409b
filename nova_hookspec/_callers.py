"""Running one hook: pluggy's call order with nova_hookspec's error policy.

pluggy decides *which* implementations run and in what order; this module
decides what a failure means. :func:`multicall` is installed as the plugin
manager's hook executor, so every pluggy hook call goes through it (wrapped
call phases, direct ``pm.hook.NAME(...)`` calls, anything under pluggy's
hook-call monitoring); :func:`run_observers` runs observer phases of plain
implementations without pluggy's per-call machinery, with the same rules.

The rules:

* A plugin's ordinary exception is logged at WARNING with the plugin, the
  hook and the phase, and the call goes on as if that plugin were absent.
* A fatal exception (:class:`~nova_hookspec.FatalHookException`) is logged
  at ERROR and raised: outer wrappers see it, then the caller.
* A wrapper that re-raises the exception it was given has not failed. One
  that raises anything else, does not yield, or yields twice has failed: the
  outcome is what it would be without that wrapper.
* Nova's own callable (the innermost implementation of the call phase) is not
  a plugin: its exceptions go to the wrappers and then the caller unchanged.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Generator, Mapping, Sequence
from typing import Any, Final, cast

import pluggy

from nova_hookspec import _errors, _points, _tracing
from nova_hookspec._legacy import LegacyHook
from nova_hookspec._markers import PROJECT_NAME

log = logging.getLogger("nova_hookspec")

#: Caller keyword under which the hooked call passes its ``HookedFunction``
#: to nova_hookspec's own implementations (never to plugins: no spec has it).
HOOKED: Final = "_hooked"


class CallCore:
    """The innermost implementation of a point's call phase: Nova's callable."""

    def __init__(self, point_name: str) -> None:
        self.point_name = point_name

    def __repr__(self) -> str:
        return f"<nova_hookspec call core {self.point_name!r}>"


def core_impl(point_name: str) -> Any:
    """The innermost implementation of a call hook: run Nova's callable."""

    def call(args: tuple[Any, ...], kwargs: dict[str, Any], _hooked: Any = None) -> object:
        if _hooked is None:
            raise pluggy.HookCallError(
                f"hook {point_name!r} runs Nova's callable: call the decorated function, "
                "not the hook, to make the call"
            )
        return _hooked.function(*args, **kwargs)

    call.__qualname__ = call.__name__ = point_name
    return pluggy.HookimplMarker(PROJECT_NAME)(trylast=True)(call)


def phase_of(hook_name: str) -> str:
    """The phase (pre, call, post) of a hook name."""
    located = _points.hook_phase(hook_name)
    return located[1] if located else "call"


def report_failure(plugin_name: str, hook_name: str, exc: BaseException, when: str = "") -> None:
    """Log a plugin's failure, naming the plugin, the hook and the phase."""
    fatal = isinstance(exc, _errors.fatal_types())
    log.log(
        logging.ERROR if fatal else logging.WARNING,
        "plugin %r %s in hook %r (%s phase)%s: %s: %s",
        plugin_name,
        "raised a fatal exception" if fatal else "failed",
        hook_name,
        phase_of(hook_name),
        f", {when}" if when else "",
        type(exc).__name__,
        exc,
        exc_info=exc,
    )


def _impl_arguments(
    argnames: Sequence[str], kwargnames: Sequence[str], values: Mapping[str, Any]
) -> tuple[list[Any], dict[str, Any]]:
    """What an implementation is called with: its arguments by position, and
    those of its defaulted parameters the call provides (on every pluggy release)."""
    return [values[n] for n in argnames], {n: values[n] for n in kwargnames if n in values}


def _is_plugin_failure(exc: BaseException) -> bool:
    """Whether ``exc`` is an ordinary plugin exception (logged, then ignored)."""
    return isinstance(exc, Exception) and not isinstance(exc, _errors.fatal_types())


class _Teardown:
    """A wrapper that has reached its ``yield``."""

    __slots__ = ("gen", "hook_name", "impl", "timing")

    def __init__(
        self,
        hook_name: str,
        impl: pluggy.HookImpl,
        gen: Generator[Any, Any, Any],
        timing: dict[str, float] | None,
    ) -> None:
        self.hook_name = hook_name
        self.impl = impl
        self.gen = gen
        self.timing = timing

    def finish(self, result: object, exc: BaseException | None) -> tuple[object, BaseException | None]:
        """Resume the wrapper; return the outcome it leaves behind."""
        if self.timing is None:
            return self._finish(result, exc)
        started = time.perf_counter()
        try:
            return self._finish(result, exc)
        finally:
            _tracing.record(self.timing, self.impl.plugin_name, started)

    def _finish(self, result: object, exc: BaseException | None) -> tuple[object, BaseException | None]:
        gen = self.gen
        outcome: pluggy.Result[object] | None = None
        try:
            if self.impl.hookwrapper:
                outcome = pluggy.Result(result, exc)
                gen.send(outcome)
            elif exc is not None:
                gen.throw(exc)
            else:
                gen.send(result)
        except StopIteration as stop:
            if outcome is not None:
                return (None, outcome.exception) if outcome.exception else (outcome.get_result(), None)
            return stop.value, None
        except BaseException as raised:  # noqa: BLE001 - sorted out below
            if raised is exc:
                return None, exc
            if not _is_plugin_failure(raised):
                if isinstance(raised, _errors.fatal_types()):
                    report_failure(self.impl.plugin_name, self.hook_name, raised)
                return None, raised
            report_failure(self.impl.plugin_name, self.hook_name, raised, "after its yield")
            return result, exc
        report_failure(
            self.impl.plugin_name,
            self.hook_name,
            RuntimeError("wrapper yielded a second time"),
            "after its yield",
        )
        with contextlib.suppress(Exception):  # already reported as failed
            gen.close()
        return result, exc


def _start_wrapper(
    hook_name: str,
    impl: pluggy.HookImpl,
    args: list[object],
    kwargs: Mapping[str, object],
    timing: dict[str, float] | None,
) -> _Teardown | None:
    """Run a wrapper up to its ``yield``; ``None`` if it failed on the way."""
    started = time.perf_counter() if timing is not None else 0.0
    try:
        gen = cast(Generator[Any, Any, Any], impl.function(*args, **kwargs))
        next(gen)
    except StopIteration:
        report_failure(
            impl.plugin_name, hook_name, RuntimeError("wrapper returned without yielding")
        )
        return None
    except Exception as exc:
        if not _is_plugin_failure(exc):
            report_failure(impl.plugin_name, hook_name, exc, "before its yield")
            raise
        report_failure(impl.plugin_name, hook_name, exc, "before its yield")
        return None
    finally:
        if timing is not None:
            _tracing.record(timing, impl.plugin_name, started)
    return _Teardown(hook_name, impl, gen, timing)


def multicall(
    hook_name: str,
    hook_impls: Sequence[pluggy.HookImpl],
    caller_kwargs: Mapping[str, object],
    firstresult: bool,
) -> object:
    """Call ``hook_impls`` in pluggy's order, applying the error policy."""
    results: list[object] = []
    exception: BaseException | None = None
    teardowns: list[_Teardown] = []
    timing = _tracing.timings() if _tracing.active else None
    try:
        for impl in reversed(hook_impls):
            try:
                args, kwargs = _impl_arguments(impl.argnames, impl.kwargnames, caller_kwargs)
            except KeyError as missing:
                raise pluggy.HookCallError(
                    f"hook {hook_name!r} call must provide argument {missing.args[0]!r}"
                ) from None
            if impl.wrapper or impl.hookwrapper:
                teardown = _start_wrapper(hook_name, impl, args, kwargs, timing)
                if teardown is not None:
                    teardowns.append(teardown)
                continue
            started = time.perf_counter() if timing is not None else 0.0
            if isinstance(impl.plugin, CallCore):
                try:
                    res = impl.function(*args, **kwargs)
                finally:
                    if timing is not None:
                        _tracing.record(timing, "(nova)", started)
            else:
                try:
                    res = impl.function(*args, **kwargs)
                except Exception as exc:
                    report_failure(impl.plugin_name, hook_name, exc)
                    if not _is_plugin_failure(exc):
                        raise
                    continue
                finally:
                    if timing is not None:
                        _tracing.record(timing, impl.plugin_name, started)
            if res is not None:
                results.append(res)
                if firstresult:
                    break
    except BaseException as exc:  # noqa: BLE001 - handed to the wrappers
        exception = exc
    result: object = (results[0] if results else None) if firstresult else results
    for teardown in reversed(teardowns):
        result, exception = teardown.finish(result, exception)
    if exception is not None:
        raise exception
    return result


# ---------------------------------------------------------------- observer phases, fast


class PhasePlan:
    """One phase of a hook point as it stands between two registry changes.

    :param hook_name: the pluggy hook.
    :param impls: its implementations, in pluggy's list order (a snapshot).
    :param steps: for a phase of plain implementations only, what the fast
        observer loop calls, in run order; ``None`` when wrappers take part.
    :param typed: whether the phase needs the hook's keyword arguments: a typed
        implementation or a wrapper takes part (only legacy classes do not).
    """

    __slots__ = ("firstresult", "hook_name", "impls", "phase", "steps", "typed")

    def __init__(self, hook_name: str, phase: _points.Phase, impls: list[pluggy.HookImpl]) -> None:
        self.hook_name = hook_name
        self.phase = phase
        self.firstresult = phase == "call"
        self.impls = impls
        self.typed = False
        steps: list[tuple[str, Any, tuple[str, ...], tuple[str, ...], Any]] = []
        for impl in reversed(impls):
            if impl.wrapper or impl.hookwrapper:
                self.typed = True
                self.steps = None
                return
            legacy = impl.plugin.methods.get(phase) if isinstance(impl.plugin, LegacyHook) else None
            if legacy is None:
                self.typed = True
            steps.append((impl.plugin_name, impl.function, tuple(impl.argnames),
                          tuple(impl.kwargnames), legacy))
        self.steps = tuple(steps)


def run_observers(
    plan: PhasePlan,
    hook_kwargs: Mapping[str, Any] | None,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    function: Any,
    result: Any = None,
) -> None:
    """Call the plain implementations of an observer phase, with the error policy.

    What pluggy's loop would do for plain implementations, with nothing
    rebuilt per call: a legacy class's own method is called directly, the way
    Nova called it. ``function`` is the hooked function when legacy classes
    get it first (``pass_function``), else ``None``.
    """
    assert plan.steps is not None
    post = plan.phase == "post"
    for plugin_name, impl_function, argnames, kwargnames, legacy in plan.steps:
        try:
            if legacy is not None:
                if function is None:
                    if post:
                        legacy(result, *args, **kwargs)
                    else:
                        legacy(*args, **kwargs)
                elif post:
                    legacy(function, result, *args, **kwargs)
                else:
                    legacy(function, *args, **kwargs)
            else:
                assert hook_kwargs is not None
                positional, keywords = _impl_arguments(argnames, kwargnames, hook_kwargs)
                impl_function(*positional, **keywords)
        except Exception as exc:
            report_failure(plugin_name, plan.hook_name, exc)
            if not _is_plugin_failure(exc):
                raise

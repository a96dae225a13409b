"""The hook executor: running one hook's implementations through its wrappers.

:func:`multicall` is installed as the plugin manager's hook executor (through
:mod:`nova_hookspec._seams.pluggy_api`), so every hook call goes through it: wrapped
call phases, direct ``pm.hook.NAME(...)`` calls, anything under pluggy's
hook-call monitoring. The implementations arrive in nova_hookspec's run order
(:mod:`nova_hookspec._plugins.ordering`, stored the way pluggy keeps its lists: last
runs first); what a failure means is :mod:`nova_hookspec._call.policy`'s.

The rules it applies:

* A plugin's ordinary exception is logged at WARNING with the plugin, the
  hook and the phase, and the call goes on as if that plugin were absent.
* A fatal exception (:class:`~nova_hookspec.FatalHookException`) is logged
  at ERROR and raised: outer wrappers see it, then the caller.
* A wrapper cannot swallow a fatal exception: when it returns instead of
  re-raising, that is logged and the fatal exception goes on.
* A wrapper that re-raises the exception it was given has not failed. One
  that raises anything else, does not yield, or yields twice has failed: the
  outcome is what it would be without that wrapper.
* Nova's own callable (the innermost implementation of the call phase) is not
  a plugin: its exceptions go to the wrappers and then the caller unchanged.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping, Sequence
from typing import Any, Final, Generator, Optional, Tuple, cast

from nova_hookspec._call import tracing as _tracing
from nova_hookspec._call.policy import is_fatal, is_plugin_failure, report_failure
from nova_hookspec._seams import pluggy_api as _pluggy
from nova_hookspec._spec.markers import hookimpl, impl_opts

#: Caller keyword under which the hooked call passes its ``HookedFunction``
#: to nova_hookspec's own implementations (never to plugins: no spec has it).
HOOKED: Final = "_hooked"


class CallCore:
    """The innermost implementation of a point's call phase: Nova's callable."""

    def __init__(self, point_name: str) -> None:
        self.point_name = point_name
        self.function = core_impl(point_name)
        setattr(self, point_name, self.function)

    def __repr__(self) -> str:
        return f"<nova_hookspec call core {self.point_name!r}>"

    def hookimpls(self) -> list[tuple[str, str, Any, dict[str, Any]]]:
        """Its one hookimpl, as :func:`nova_hookspec._plugins.validation.hookimpls_of` lists them."""
        opts = impl_opts(self, self.point_name)
        assert opts is not None  # core_impl marks it
        return [(self.point_name, self.point_name, self.function, opts)]


def core_impl(point_name: str) -> Any:
    """The innermost implementation of a call hook: run Nova's callable."""

    def call(args: tuple[Any, ...], kwargs: dict[str, Any], _hooked: Any = None) -> object:
        if _hooked is None:
            raise _pluggy.HookCallError(
                f"hook {point_name!r} runs Nova's callable: call the decorated function, "
                "not the hook, to make the call"
            )
        return _hooked.function(*args, **kwargs)

    call.__qualname__ = call.__name__ = point_name
    return hookimpl(trylast=True)(call)


def impl_arguments(
    argnames: Sequence[str], kwargnames: Sequence[str], values: Mapping[str, Any]
) -> tuple[list[Any], dict[str, Any]]:
    """What an implementation is called with: its arguments by position, and
    those of its defaulted parameters the call provides (on every pluggy release).

    Defaulted parameters go by position too, in their order, up to the first
    the call lacks (so a positional-only one works, as in the written
    runner); the rest by keyword.
    """
    args = [values[n] for n in argnames]
    for index, name in enumerate(kwargnames):
        if name not in values:
            return args, {n: values[n] for n in kwargnames[index:] if n in values}
        args.append(values[name])
    return args, {}


class _Teardown:
    """A wrapper that has reached its ``yield``."""

    __slots__ = ("gen", "hook_name", "impl", "instance", "timing")

    def __init__(
        self,
        hook_name: str,
        impl: Any,
        gen: Generator[Any, Any, Any],
        timing: dict[str, float] | None,
        instance: object = None,
    ) -> None:
        self.hook_name = hook_name
        self.impl = impl
        self.gen = gen
        self.timing = timing
        self.instance = instance

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
        return resume(self.hook_name, self.impl.plugin_name, self.gen, result, exc,
                      self.instance, bool(self.impl.opts.get("hookwrapper")))


Outcome = Tuple[object, Optional[BaseException]]


def resume(
    hook_name: str,
    plugin_name: str,
    gen: Generator[Any, Any, Any],
    result: object,
    exc: BaseException | None,
    instance: object = None,
    old_style: bool = False,
) -> Outcome:
    """Resume a wrapper after its ``yield``; return the ``(result, exception)`` it leaves."""
    outcome: Any = None
    try:
        if old_style:
            outcome = _pluggy.old_style_result(result, exc)
            gen.send(outcome)
        elif exc is not None:
            gen.throw(exc)
        else:
            gen.send(result)
    except StopIteration as stop:
        returned = _pluggy.outcome_of(outcome) if outcome is not None else (stop.value, None)
        if exc is not None and not is_plugin_failure(exc) and returned[1] is not exc:
            # FatalHookException, KeyboardInterrupt, SystemExit: never swallowed.
            what = "a fatal exception" if is_fatal(exc) else type(exc).__name__
            report_failure(
                plugin_name, hook_name,
                RuntimeError(f"a wrapper cannot swallow {what}; it goes on"),
                "after its yield", instance,
            )
            return None, exc
        return returned
    except BaseException as raised:  # noqa: BLE001 - sorted out by wrapper_raised
        return wrapper_raised(hook_name, plugin_name, raised, result, exc, instance)
    return wrapper_yielded_twice(hook_name, plugin_name, gen, result, exc, instance)


def wrapper_raised(
    hook_name: str, plugin_name: str, raised: BaseException, result: object,
    exc: BaseException | None, instance: object = None,
) -> Outcome:
    """A wrapper raised after its ``yield``: re-raising what it was given is no failure
    (nor is the ``RuntimeError`` Python makes of a ``StopIteration`` it was given
    and let through, PEP 479)."""
    if raised is exc or (isinstance(exc, StopIteration) and isinstance(raised, RuntimeError)
                         and raised.__cause__ is exc):
        return None, exc
    if not is_plugin_failure(raised):
        if is_fatal(raised):
            report_failure(plugin_name, hook_name, raised, instance=instance)
        return None, raised
    report_failure(plugin_name, hook_name, raised, "after its yield", instance)
    return result, exc


def wrapper_yielded_twice(
    hook_name: str, plugin_name: str, gen: Generator[Any, Any, Any], result: object,
    exc: BaseException | None, instance: object = None,
) -> Outcome:
    """A wrapper yielded a second time: a failure; the outcome is as without it."""
    report_failure(plugin_name, hook_name, RuntimeError("wrapper yielded a second time"),
                   "after its yield", instance)
    with contextlib.suppress(Exception):  # already reported as failed
        gen.close()
    return result, exc


def start_failed(hook_name: str, plugin_name: str, exc: Exception, instance: object = None) -> None:
    """A wrapper failed on the way to its ``yield`` (``StopIteration``: it returned
    without yielding): logged; re-raised unless an ordinary failure."""
    if isinstance(exc, StopIteration):
        report_failure(plugin_name, hook_name, RuntimeError("wrapper returned without yielding"),
                       instance=instance)
        return
    report_failure(plugin_name, hook_name, exc, "before its yield", instance)
    if not is_plugin_failure(exc):
        raise exc


def _start_wrapper(
    hook_name: str,
    impl: Any,
    args: list[object],
    kwargs: Mapping[str, object],
    timing: dict[str, float] | None,
    instance: object = None,
) -> _Teardown | None:
    """Run a wrapper up to its ``yield``; ``None`` if it failed on the way."""
    started = time.perf_counter() if timing is not None else 0.0
    try:
        gen = cast(Generator[Any, Any, Any], impl.function(*args, **kwargs))
        next(gen)
    except Exception as exc:  # noqa: BLE001 - start_failed re-raises what is no plugin failure
        start_failed(hook_name, impl.plugin_name, exc, instance)
        return None
    finally:
        if timing is not None:
            _tracing.record(timing, impl.plugin_name, started)
    return _Teardown(hook_name, impl, gen, timing, instance)


def multicall(
    hook_name: str,
    hook_impls: Sequence[Any],
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
                args, kwargs = impl_arguments(impl.argnames, impl.kwargnames, caller_kwargs)
            except KeyError as missing:
                raise _pluggy.HookCallError(
                    f"hook call must provide argument {missing.args[0]!r} (hook {hook_name!r})"
                ) from None
            if _pluggy.is_wrapper(impl):
                teardown = _start_wrapper(hook_name, impl, args, kwargs, timing,
                                          caller_kwargs.get("instance"))
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
                    report_failure(impl.plugin_name, hook_name, exc,
                                   instance=caller_kwargs.get("instance"))
                    if not is_plugin_failure(exc):
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

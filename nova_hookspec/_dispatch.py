"""The per-point dispatch plan, and the fast loops that run it.

A :class:`Dispatch` says which phases of a hook point have plugins; a
:class:`PhasePlan` is one phase as it stands between two registry changes,
with what runs in it, in order, worked out once:

* an observer phase of typed implementations, or of legacy classes, is
  written out as code, call by call (up to :data:`WRITTEN_OUT_LIMIT`
  implementations; a loop past that); a mixed phase runs :func:`run_observers`;
* a call phase of new-style wrappers runs :func:`run_wrapped_call` (one
  wrapper: :func:`run_one_wrapper`) around Nova's callable.

Old-style hookwrappers, wrappers on an observer phase, and every phase under
hook-call monitoring go through the executor (:mod:`nova_hookspec._executor`)
instead. All of them apply the same failure policy (:mod:`_policy`).
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Any, Callable, NamedTuple

from nova_hookspec import _pluggy, _points
from nova_hookspec._executor import CallCore, resume, wrapper_raised, wrapper_yielded_twice
from nova_hookspec._legacy import LegacyHook
from nova_hookspec._policy import is_plugin_failure, report_failure


def arguments_getter(impl: Any) -> tuple[Any, int]:
    """What takes an implementation's arguments out of the hook's keyword
    arguments, worked out once: ``(getter, arity)``, arity 0, 1 or 2 (several).

    Every name an implementation asks for is in a hooked call's keyword
    arguments (validation refuses others; binding fills every spec argument),
    so the names are passed by position, in the implementation's order.
    """
    names = (*impl.argnames, *impl.kwargnames)
    if not names:
        return None, 0
    return operator.itemgetter(*names), (1 if len(names) == 1 else 2)


#: Up to how many implementations an observer phase is written out as code.
WRITTEN_OUT_LIMIT = 32


class PhasePlan:
    """One phase of a hook point as it stands between two registry changes.

    :param hook_name: the pluggy hook.
    :param impls: its implementations, in pluggy's list order (a snapshot).
    :param steps: what the fast loops call, in run order: for observer phases
        of plain implementations ``(plugin name, function, getter, arity,
        legacy method)``; for a call phase of new-style wrappers only, the same
        for each wrapper. ``None`` when the phase needs the full executor
        (old-style hookwrappers, wrappers on an observer phase).
    :param loop: which fast loop runs the steps: ``typed``, ``legacy``,
        ``mixed``, ``wrappers``, or ``None``.
    :param typed: whether the phase needs the hook's keyword arguments: a typed
        implementation or a wrapper takes part (only legacy classes do not).
    """

    __slots__ = ("compiled", "firstresult", "hook_name", "impl_of", "impls", "legacy", "loop",
                 "phase", "steps", "typed")

    def __init__(self, hook_name: str, phase: _points.Phase, impls: list[Any]) -> None:
        self.hook_name = hook_name
        self.phase = phase
        self.firstresult = phase == "call"
        self.impls = impls
        self.typed = False
        self.loop: str | None = None
        self.compiled: Callable[[Mapping[str, Any]], None] | None = None
        self.legacy: Callable[..., None] | None = None
        self.impl_of: list[Any] = []
        steps: list[tuple[str, Any, Any, int, Any]] = []
        kinds = set()
        for impl in reversed(impls):
            if isinstance(impl.plugin, CallCore):
                continue
            wrapper = _pluggy.is_wrapper(impl)
            if wrapper and (phase != "call" or impl.opts.get("hookwrapper")):
                self.typed = True
                self.steps = None
                return
            legacy = impl.plugin.methods.get(phase) if isinstance(impl.plugin, LegacyHook) else None
            kinds.add("wrapper" if wrapper else "legacy" if legacy is not None else "typed")
            if legacy is None:
                self.typed = True
            getter, arity = arguments_getter(impl)
            steps.append((impl.plugin_name, impl.function, getter, arity, legacy))
            self.impl_of.append(impl)
        self.steps = tuple(steps)
        if phase == "call":
            self.loop = "wrappers"
        else:
            self.loop = kinds.pop() if len(kinds) == 1 else "mixed"
        # Written out for the usual handful of plugins; past that, compiling would
        # cost more than the loop saves (and the loop's share is small).
        if len(steps) <= WRITTEN_OUT_LIMIT:
            if self.loop == "typed":
                self.compiled = compile_typed_observers(self)
            elif self.loop == "legacy":
                self.legacy = compile_legacy_observers(self)


def _report(plugin_name: str, hook_name: str, exc: Exception, values: Mapping[str, Any] | None,
            binding: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """A failed observer: logged with the call's instance; re-raised unless ordinary."""
    if values is None:
        values = binding.bind(args, kwargs) if binding is not None else {}
    report_failure(plugin_name, hook_name, exc, instance=values.get("instance"))
    if not is_plugin_failure(exc):
        raise exc


def run_typed_observers(plan: PhasePlan, hook_kwargs: Mapping[str, Any]) -> None:
    """The observer loop for typed implementations only (when not written out)."""
    assert plan.steps is not None
    for plugin_name, function, getter, arity, _ in plan.steps:
        try:
            if arity == 2:
                function(*getter(hook_kwargs))
            elif arity:
                function(getter(hook_kwargs))
            else:
                function()
        except Exception as exc:  # noqa: BLE001 - _report re-raises what is no plugin failure
            _report(plugin_name, plan.hook_name, exc, hook_kwargs, None, (), {})


def compile_typed_observers(plan: PhasePlan) -> Callable[[Mapping[str, Any]], None]:
    """Write the typed observer loop of ``plan`` out, call by call.

    Each implementation is called with its arguments taken straight from the
    hook's keyword arguments (``f3(kw["instance"], kw["nw_info"])``), each in
    a ``try`` of its own that hands a failure to the policy: the per-call
    work is what the plugins need and nothing else (in the manner of
    ``dataclasses`` and ``attrs``, which write their methods out too).
    """
    assert plan.steps is not None
    namespace: dict[str, Any] = {"_report": _report, "_hook": plan.hook_name}
    lines = ["def run(kw):"]
    for index, (plugin_name, function, _getter, _arity, _legacy) in enumerate(plan.steps):
        impl = plan.impl_of[index]
        names = ", ".join(f"kw[{name!r}]" for name in (*impl.argnames, *impl.kwargnames))
        namespace[f"f{index}"] = function
        namespace[f"n{index}"] = plugin_name
        lines += [
            "    try:",
            f"        f{index}({names})",
            "    except Exception as exc:",
            f"        _report(n{index}, _hook, exc, kw, None, (), {{}})",
        ]
    if len(lines) == 1:
        lines.append("    pass")
    exec(compile("\n".join(lines), f"<nova_hookspec observers of {plan.hook_name}>", "exec"),
         namespace)
    run: Callable[[Mapping[str, Any]], None] = namespace["run"]
    return run


def compile_legacy_observers(plan: PhasePlan) -> Callable[..., None]:
    """Write the legacy observer loop of ``plan`` out, call by call, as Nova called
    them: ``m0(*args, **kwargs)`` (``m0(rv, *args, **kwargs)`` after the call),
    the hooked function first when it was decorated with ``pass_function``.

    The written function takes ``(args, kwargs, function, result, binding)``.
    """
    assert plan.steps is not None
    namespace: dict[str, Any] = {"_report": _report, "_hook": plan.hook_name}
    lead = "result, " if plan.phase == "post" else ""
    lines = ["def run(args, kwargs, function, result, binding):", "    if function is None:"]
    calls_plain, calls_fn = [], []
    for index, (plugin_name, _function, _getter, _arity, method) in enumerate(plan.steps):
        namespace[f"m{index}"] = method
        namespace[f"n{index}"] = plugin_name
        handler = [
            "    except Exception as exc:",
            f"        _report(n{index}, _hook, exc, None, binding, args, kwargs)",
        ]
        calls_plain += ["    try:", f"        m{index}({lead}*args, **kwargs)", *handler]
        calls_fn += ["    try:", f"        m{index}(function, {lead}*args, **kwargs)", *handler]
    lines += ["    " + line for line in calls_plain] + ["        return"]
    lines += calls_fn
    exec(compile("\n".join(lines), f"<nova_hookspec legacy observers of {plan.hook_name}>",
                 "exec"), namespace)
    run: Callable[..., None] = namespace["run"]
    return run


def run_legacy_observers(
    plan: PhasePlan,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    function: Any,
    result: Any = None,
    binding: Any = None,
) -> None:
    """The observer loop for legacy classes only, called exactly as Nova called them.

    ``function`` is the hooked function when they get it first
    (``pass_function``), else ``None``.
    """
    assert plan.steps is not None
    lead = (function,) if function is not None else ()
    if plan.phase == "post":
        lead = (*lead, result)
    for plugin_name, _function, _getter, _arity, legacy in plan.steps:
        try:
            legacy(*lead, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - _report re-raises what is no plugin failure
            _report(plugin_name, plan.hook_name, exc, None, binding, args, kwargs)


def run_observers(
    plan: PhasePlan,
    hook_kwargs: Mapping[str, Any] | None,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    function: Any,
    result: Any = None,
    binding: Any = None,
) -> None:
    """Call the plain implementations of an observer phase, with the error policy.

    What pluggy's loop would do for plain implementations, with nothing
    rebuilt per call: a typed implementation gets its arguments through a
    getter worked out with the plan; a legacy class's own method is called
    directly, the way Nova called it. ``binding`` (the call's argument plan)
    finds the instance a failure is about, when one happens.
    """
    if plan.loop == "typed":
        assert hook_kwargs is not None
        run_typed_observers(plan, hook_kwargs)
        return
    if plan.loop == "legacy":
        run_legacy_observers(plan, args, kwargs, function, result, binding)
        return
    assert plan.steps is not None
    lead = (function,) if function is not None else ()
    if plan.phase == "post":
        lead = (*lead, result)
    for plugin_name, impl_function, getter, arity, legacy in plan.steps:
        try:
            if legacy is not None:
                legacy(*lead, *args, **kwargs)
            elif arity == 2:
                impl_function(*getter(hook_kwargs))
            elif arity:
                impl_function(getter(hook_kwargs))
            else:
                impl_function()
        except Exception as exc:  # noqa: BLE001 - _report re-raises what is no plugin failure
            _report(plugin_name, plan.hook_name, exc, hook_kwargs, binding, args, kwargs)


def run_wrapped_call(
    plan: PhasePlan,
    hook_kwargs: Mapping[str, Any],
    function: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    """A call phase of new-style wrappers around Nova's callable, without the
    executor's per-call machinery; the same rules (:mod:`_executor`)."""
    assert plan.steps is not None
    if len(plan.steps) == 1:
        return run_one_wrapper(plan, hook_kwargs, function, args, kwargs)
    hook_name = plan.hook_name
    started: list[tuple[Any, Any]] = []
    result: Any = None
    exception: BaseException | None = None
    try:
        for step in plan.steps:
            gen = _start(step, hook_name, hook_kwargs)
            if gen is not None:
                started.append((gen, step[0]))
        result = function(*args, **kwargs)
    except BaseException as exc:  # noqa: BLE001 - handed to the wrappers
        exception = exc
    for gen, plugin_name in reversed(started):
        if exception is not None:
            result, exception = resume(hook_name, plugin_name, gen, result, exception,
                                       hook_kwargs.get("instance"))
            continue
        try:  # the common case, inline: the wrapper takes the result and returns
            gen.send(result)
        except StopIteration as stop:
            result = stop.value
            continue
        except BaseException as raised:  # noqa: BLE001 - sorted out by wrapper_raised
            result, exception = wrapper_raised(hook_name, plugin_name, raised, result, None,
                                               hook_kwargs.get("instance"))
            continue
        result, exception = wrapper_yielded_twice(hook_name, plugin_name, gen, result, None,
                                                  hook_kwargs.get("instance"))
    if exception is not None:
        raise exception
    return result


def _start(step: tuple[str, Any, Any, int, Any], hook_name: str,
           hook_kwargs: Mapping[str, Any]) -> Any:
    """Run a wrapper to its ``yield``; ``None`` when it failed on the way (logged)."""
    plugin_name, impl_function, getter, arity, _ = step
    try:
        if arity == 2:
            gen = impl_function(*getter(hook_kwargs))
        elif arity:
            gen = impl_function(getter(hook_kwargs))
        else:
            gen = impl_function()
        next(gen)
    except StopIteration:
        report_failure(plugin_name, hook_name, RuntimeError("wrapper returned without yielding"),
                       instance=hook_kwargs.get("instance"))
        return None
    except Exception as exc:
        report_failure(plugin_name, hook_name, exc, "before its yield",
                       hook_kwargs.get("instance"))
        if not is_plugin_failure(exc):
            raise
        return None
    return gen


def run_one_wrapper(
    plan: PhasePlan,
    hook_kwargs: Mapping[str, Any],
    function: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    """:func:`run_wrapped_call` for the common case of one wrapper, written out."""
    assert plan.steps is not None
    plugin_name = plan.steps[0][0]
    gen = _start(plan.steps[0], plan.hook_name, hook_kwargs)
    if gen is None:
        return function(*args, **kwargs)
    try:
        result = function(*args, **kwargs)
    except BaseException as exc:  # noqa: BLE001 - handed to the wrapper
        result, exception = resume(plan.hook_name, plugin_name, gen, None, exc,
                                   hook_kwargs.get("instance"))
    else:
        try:
            gen.send(result)
        except StopIteration as stop:
            return stop.value
        except BaseException as raised:  # noqa: BLE001 - sorted out by wrapper_raised
            result, exception = wrapper_raised(plan.hook_name, plugin_name, raised, result, None,
                                               hook_kwargs.get("instance"))
        else:
            result, exception = wrapper_yielded_twice(plan.hook_name, plugin_name, gen, result,
                                                      None, hook_kwargs.get("instance"))
    if exception is not None:
        raise exception
    return result


class Dispatch(NamedTuple):
    """The phases of a point that have plugins (``None``: skip the phase), and
    whether the fast loops may run them (``False`` under hook-call monitoring)."""

    pre: PhasePlan | None
    call: PhasePlan | None
    post: PhasePlan | None
    fast: bool = True

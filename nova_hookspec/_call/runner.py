"""The function that makes one hooked call: written out per callable and plan.

For a decorated callable and its point's :class:`~nova_hookspec._call.dispatch.Dispatch`
this module writes (in the manner of ``dataclasses`` and ``attrs``) one
function ``run(args, kwargs)`` that does, in order, what the call model says
and nothing else:

* takes the hook arguments the plugins ask for straight from ``args`` by
  position (the callable's argument plan, :mod:`nova_hookspec._call.binding`), or
  from the bound dict when the call passed keywords;
* calls each pre observer: a typed one with exactly its arguments
  (``f0(a_instance)``), a legacy class as Nova did (``m1(*args, **kwargs)``),
  each in a ``try`` of its own that hands a failure to the policy;
* starts the new-style wrappers, calls Nova's callable, resumes the wrappers
  innermost first (the common path inline; a deviation through the
  executor's helpers, :mod:`nova_hookspec._call.executor`);
* calls each post observer with the final result.

A phase with more observers than :data:`~nova_hookspec._call.dispatch.WRITTEN_OUT_LIMIT`
runs through :func:`~nova_hookspec._call.dispatch.run_observers` instead. A plan
with a phase that needs the executor (old-style hookwrappers, wrappers on an
observer phase, hook-call monitoring) gets no runner written.
"""

from __future__ import annotations

from typing import Any

from nova_hookspec._call import executor as _executor
from nova_hookspec._call.decorated import Decorated, Runner
from nova_hookspec._call.dispatch import Dispatch, PhasePlan, observer_failed, run_observers
from nova_hookspec._call.generated import generated_file

__all__ = ["Runner", "write_runner"]

#: Hook argument names that are the runner's own locals; the others are ``a_NAME``.
_LOCALS = frozenset({"args", "kwargs", "result"})

#: The call's instance, for a failure line: bound only when something failed.
_INSTANCE = "_instance(args, kwargs)"


class _Writer:
    """The source of one runner, and the values it refers to by name."""

    def __init__(self, hooked: Decorated, dispatch: Dispatch) -> None:
        self.hooked = hooked
        self.dispatch = dispatch
        self.lines: list[str] = []
        self.values: dict[str, Any] = {
            "function": hooked.function,
            "_bind": hooked.plan.bind,
            "_failed": observer_failed,
            "_loop": run_observers,
            "_start_failed": _executor.start_failed,
            "_resume": _executor.resume,
            "_raised": _executor.wrapper_raised,
            "_twice": _executor.wrapper_yielded_twice,
            "_instance": lambda args, kwargs: hooked.plan.bind(args, kwargs).get("instance"),
        }

    def value(self, prefix: str, obj: object) -> str:
        """A name for ``obj`` in the runner."""
        name = f"{prefix}{len(self.values)}"
        self.values[name] = obj
        return name

    def emit(self, *lines: str) -> None:
        self.lines.extend("    " + line for line in lines)

    # ------------------------------------------------------------ the parts

    def bind(self) -> None:
        """The hook arguments the plugins ask for, as locals ``a_NAME``."""
        phases = self.dispatch.phases
        needed: dict[str, None] = {}
        for plan in phases:
            for step in plan.steps or ():
                if step.legacy is None:
                    needed.update(dict.fromkeys(n for n in step.names if n not in _LOCALS))
        looped = any(p.phase != "call" and not p.written_out for p in phases)
        if looped:  # the loop takes its arguments from the bound dict
            self.emit("_kw = _bind(args, kwargs)", *(f"a_{n} = _kw[{n!r}]" for n in needed))
            return
        if not needed:
            return
        binding = self.hooked.plan
        self.emit("if kwargs:", "    _kw = _bind(args, kwargs)",
                  *(f"    a_{n} = _kw[{n!r}]" for n in needed), "else:", "    _n = len(args)")
        for name in needed:
            default = self.value("d", binding.defaults[name])
            if name in binding.positional:
                index = binding.positional.index(name)
                self.emit(f"    a_{name} = args[{index}] if _n > {index} else {default}")
            else:
                self.emit(f"    a_{name} = {default}")

    def observers(self, plan: PhasePlan) -> None:
        """One observer phase, call by call (or the loop, for a long one)."""
        assert plan.steps is not None
        hook = self.value("h", plan.hook_name)
        lead = ["function"] if self.hooked.pass_function else []
        if plan.phase == "post":
            lead.append("result")
        if not plan.written_out:
            if plan.phase == "post":
                self.emit("_kw['result'] = result")
            lead_tuple = "".join(f"{item}, " for item in lead)
            self.emit(f"_loop({self.value('p', plan)}, _kw, args, kwargs, ({lead_tuple}))")
            return
        for step in plan.steps:
            if step.legacy is not None:
                call = f"{self.value('m', step.legacy)}({''.join(f'{x}, ' for x in lead)}"
                call += "*args, **kwargs)"
            else:
                call = f"{self.value('f', step.function)}({self.arguments(step.names)})"
            self.emit("try:", f"    {call}", "except Exception as exc:",
                      f"    _failed({self.value('n', step.plugin_name)}, {hook}, exc, "
                      f"{_INSTANCE})")

    def wrapped_call(self, plan: PhasePlan) -> None:
        """Start the wrappers, call the callable, resume them innermost first.

        The outcome so far is ``result`` and ``_e`` (the exception the next
        wrapper gets); a wrapper that failed to start is ``None`` and skipped.
        """
        assert plan.steps is not None
        hook = self.value("h", plan.hook_name)
        wrappers = [(f"g{index}", self.value("n", step.plugin_name),
                     self.value("w", step.function), self.arguments(step.names))
                    for index, step in enumerate(plan.steps)]
        self.emit(f"{' = '.join(gen for gen, *_ in wrappers)} = None", "_e = None", "try:")
        for gen, name, function, arguments in wrappers:
            self.emit("    try:",
                      f"        {gen} = {function}({arguments})",
                      f"        next({gen})",
                      "    except Exception as exc:",
                      f"        {gen} = _start_failed({hook}, {name}, exc, {_INSTANCE})")
        self.emit("    result = function(*args, **kwargs)",
                  "except BaseException as exc:",
                  "    result, _e = None, exc")
        for gen, name, _function, _arguments in reversed(wrappers):
            self.emit(
                f"if {gen} is not None:",
                "    if _e is None:",
                "        try:",
                f"            {gen}.send(result)",
                "        except StopIteration as stop:",
                "            result = stop.value",
                "        except BaseException as raised:",
                f"            result, _e = _raised({hook}, {name}, raised, result, None, "
                f"{_INSTANCE})",
                "        else:",
                f"            result, _e = _twice({hook}, {name}, {gen}, result, None, {_INSTANCE})",
                "    else:",
                f"        result, _e = _resume({hook}, {name}, {gen}, result, _e, {_INSTANCE})",
            )
        self.emit("if _e is not None:", "    raise _e")

    @staticmethod
    def arguments(names: tuple[str, ...]) -> str:
        return ", ".join(n if n in _LOCALS else f"a_{n}" for n in names)

    # ------------------------------------------------------------ the whole

    def write(self) -> Runner:
        pre, call, post = self.dispatch.pre, self.dispatch.call, self.dispatch.post
        self.bind()
        if pre is not None:
            self.observers(pre)
        if call is not None:
            self.wrapped_call(call)
        else:
            self.emit("result = function(*args, **kwargs)")
        if post is not None:
            self.observers(post)
        self.emit("return result")
        names = ", ".join(self.values)
        source = "\n".join([f"def _make({names}):", "  def run(args, kwargs):",
                            *("  " + line for line in self.lines), "  return run"])
        namespace: dict[str, Any] = {}
        label = getattr(self.hooked.function, "__qualname__", self.hooked.point.name)
        exec(compile(source, generated_file(f"runner of {label}", source), "exec"), namespace)
        run: Runner = namespace["_make"](**self.values)
        return run


def write_runner(hooked: Decorated, dispatch: Dispatch) -> Runner:
    """The function that makes one call of ``hooked`` under ``dispatch``:
    ``run(args, kwargs)`` returns what the caller gets."""
    assert dispatch.writable
    return _Writer(hooked, dispatch).write()

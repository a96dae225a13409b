"""Property-based proof of the ordering and failure rules (hypothesis).

Random sets of typed and legacy plugins, each tryfirst, plain or trylast,
observing the pre and/or post phase or wrapping the call, some failing. For
every set: the observed order is the documented rule, and the result is
what the non-failing plugins alone produce.

The rule, for plugins registered in code in order 0, 1, 2, ...: in each
phase tryfirst implementations run first, newest first; then plain ones,
newest first; then trylast ones, oldest first (pluggy's rule). Wrappers of the
call phase are set up in that same order and finish in the reverse order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nova_hookspec
from nova_hookspec import hookimpl
from nova_hookspec._call import dispatch as _dispatch
from nova_hookspec._call.legacy import LegacyHook
from nova_hookspec._spec import points as _points

POINT = _points.lookup("delete_instance")


@dataclass(frozen=True)
class Spec:
    index: int
    kind: str  # typed | legacy
    mark: str  # tryfirst | plain | trylast
    phases: tuple[str, ...]  # of "pre", "post"
    wrapper: bool
    fail: str  # none | pre | post | wrapper-before | wrapper-after


@st.composite
def plugin_sets(draw: st.DrawFn) -> list[Spec]:
    specs = []
    for index in range(draw(st.integers(0, 7))):
        kind = draw(st.sampled_from(["typed", "legacy"]))
        mark = draw(st.sampled_from(["tryfirst", "plain", "trylast"]))
        if kind == "legacy":
            phases = draw(st.sampled_from([("pre",), ("post",), ("pre", "post")]))
            wrapper = False
        else:
            phases = tuple(draw(st.lists(st.sampled_from(["pre", "post"]), unique=True)))
            wrapper = draw(st.booleans()) or not phases
        possible = ["none", *phases, *(("wrapper-before", "wrapper-after") if wrapper else ())]
        specs.append(Spec(index, kind, mark, phases, wrapper, draw(st.sampled_from(possible))))
    return specs


def build(spec: Spec, events: list[tuple[Any, ...]]) -> object:
    marks = {"tryfirst": spec.mark == "tryfirst", "trylast": spec.mark == "trylast"}
    i = spec.index

    def observe(phase: str, result: Any = None) -> None:
        events.append((phase, i) if phase == "pre" else (phase, i, tuple(result)))
        if spec.fail == phase:
            raise ValueError(f"plugin {i} fails in {phase}")

    if spec.kind == "legacy":
        methods: dict[str, Any] = {}
        if "pre" in spec.phases:
            methods["pre"] = lambda self, *args, **kwargs: observe("pre")
        if "post" in spec.phases:
            methods["post"] = lambda self, rv, *args, **kwargs: observe("post", rv)
        obj = type(f"Legacy{i}", (), methods)()
        return LegacyHook(POINT, obj, **marks)

    attrs: dict[str, Any] = {}
    if "pre" in spec.phases:
        attrs["delete_instance_pre"] = hookimpl(**marks)(lambda self, instance: observe("pre"))
    if "post" in spec.phases:
        attrs["delete_instance_post"] = hookimpl(**marks)(
            lambda self, result: observe("post", result))
    if spec.wrapper:
        def wrap(self: object) -> Any:
            events.append(("wrap-before", i))
            if spec.fail == "wrapper-before":
                raise ValueError("before")
            result = yield
            events.append(("wrap-after", i))
            if spec.fail == "wrapper-after":
                raise ValueError("after")
            return [*result, f"w{i}"]

        attrs["delete_instance"] = hookimpl(wrapper=True, **marks)(wrap)
    return type(f"Typed{i}", (), attrs)()


def rule(items: list[Spec]) -> list[Spec]:
    """The documented run order of implementations registered in ``items`` order."""
    first = [s for s in items if s.mark == "tryfirst"][::-1]
    plain = [s for s in items if s.mark == "plain"][::-1]
    last = [s for s in items if s.mark == "trylast"]
    return first + plain + last


@pytest.mark.parametrize("observers", ["written out", "looped"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=plugin_sets())
def test_order_and_result_follow_the_rules(
    specs: list[Spec], observers: str, caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Observer phases are written out call by call, or (past a size) looped: both
    # follow the rules.
    monkeypatch.setattr(_dispatch, "WRITTEN_OUT_LIMIT",
                        _dispatch.WRITTEN_OUT_LIMIT if observers == "written out" else 0)
    nova_hookspec.reset()
    nova_hookspec.configure(autoload=False)
    caplog.clear()
    try:
        events: list[tuple[Any, ...]] = []

        @nova_hookspec.add_hook("delete_instance")
        def delete(self: object, context: object, instance: object, bdms: object) -> list[str]:
            events.append(("nova",))
            return ["nova"]

        pm = nova_hookspec.get_plugin_manager()
        for spec in specs:
            pm.register(build(spec, events), f"p{spec.index}")

        result = delete("mgr", "ctx", "inst", [])

        wrappers = rule([s for s in specs if s.wrapper])
        entered = [s for s in wrappers if s.fail != "wrapper-before"]
        expected_result = ["nova"] + [f"w{s.index}" for s in reversed(entered)
                                      if s.fail != "wrapper-after"]
        expected = [("pre", s.index) for s in rule([s for s in specs if "pre" in s.phases])]
        expected += [("wrap-before", s.index) for s in wrappers]
        expected += [("nova",)]
        expected += [("wrap-after", s.index) for s in reversed(entered)]
        expected += [("post", s.index, tuple(expected_result))
                     for s in rule([s for s in specs if "post" in s.phases])]

        assert result == expected_result
        assert events == expected
        failed = sorted(f"'p{s.index}'" for s in specs if s.fail != "none")
        logged = sorted(r.getMessage().split()[1] for r in caplog.records
                        if r.levelno >= logging.WARNING)
        assert logged == failed
    finally:
        nova_hookspec.configure()
        nova_hookspec.reset()

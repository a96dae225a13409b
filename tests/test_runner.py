"""The written runner of a hooked call: registry changes reach it, and a long
phase (looped) behaves exactly as a short one (written out call by call)."""

from __future__ import annotations

import gc
import logging
import threading
import weakref
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import Site

import nova_hookspec
from nova_hookspec import add_hook, hookimpl
from nova_hookspec._call import dispatch as _dispatch
from nova_hookspec._call import hooked as _hooked


class Tagged:
    def __init__(self, tag: str, log: list[tuple[str, str, Any]]) -> None:
        self.tag = tag
        self.log = log

    @hookimpl
    def instance_network_info_pre(self, instance: Any) -> None:
        self.log.append((self.tag, "pre", instance))

    @hookimpl
    def instance_network_info_post(self, result: Any, instance: Any) -> None:
        self.log.append((self.tag, "post", result))


def test_registry_changes_reach_a_callable_already_planned() -> None:
    log: list[tuple[str, str, Any]] = []

    @add_hook("instance_network_info")
    def refresh(impl, context, instance, nw_info=None):
        return f"refreshed {instance}"

    assert refresh("net", "ctx", "i-0") == "refreshed i-0"  # planned: no plugin
    pm = nova_hookspec.get_plugin_manager()
    pm.register(Tagged("a", log), "a")
    refresh("net", "ctx", "i-1")
    assert log == [("a", "pre", "i-1"), ("a", "post", "refreshed i-1")]
    pm.register(Tagged("b", log), "b")
    log.clear()
    refresh("net", "ctx", instance="i-2")
    assert [(tag, phase) for tag, phase, _ in log] == [
        ("b", "pre"), ("a", "pre"), ("b", "post"), ("a", "post")]
    pm.unregister(name="b")
    pm.set_blocked("a")
    log.clear()
    assert refresh("net", "ctx", "i-3") == "refreshed i-3"
    assert log == []
    nova_hookspec.reset()  # a new process-wide manager: its plugins, not the old one's
    nova_hookspec.get_plugin_manager().register(Tagged("c", log), "c")
    refresh("net", "ctx", "i-4")
    assert log == [("c", "pre", "i-4"), ("c", "post", "refreshed i-4")]


def test_a_plan_made_while_the_registry_changes_is_not_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A caller plans (sees plugin "gone" registered); before it hands its runner
    # to the decorated callable, another thread unregisters "gone". The stale
    # runner must not stay: after unregister() returns, "gone" never runs again.
    log: list[tuple[str, str, Any]] = []

    @add_hook("instance_network_info")
    def refresh(impl, context, instance, nw_info=None):
        return "ok"

    pm = nova_hookspec.get_plugin_manager()
    pm.register(Tagged("gone", log), "gone")
    planned, proceed = threading.Event(), threading.Event()
    write = _hooked.write_runner

    def slow_write(hooked: Any, dispatch: Any) -> Any:
        runner = write(hooked, dispatch)
        if threading.current_thread().name == "planner":
            planned.set()
            proceed.wait(5)
        return runner

    monkeypatch.setattr(_hooked, "write_runner", slow_write)
    planner = threading.Thread(target=refresh, args=("net", "ctx", "i-1"), name="planner")
    planner.start()
    assert planned.wait(5)
    pm.unregister(name="gone")
    proceed.set()
    planner.join(5)
    log.clear()
    for n in range(3):
        refresh("net", "ctx", f"i-{n + 2}")
    assert log == []


def test_decorated_callables_are_not_kept_alive_by_the_registry() -> None:
    hooked = add_hook("instance_network_info")(lambda impl, context, instance: None)
    hooked("net", "ctx", "i-1")
    alive = weakref.ref(hooked.__nova_hookspec__)  # type: ignore[attr-defined]
    del hooked
    gc.collect()
    assert alive() is None


def test_an_unregistered_plugin_is_not_kept_alive_by_a_runner() -> None:
    log: list[tuple[str, str, Any]] = []
    refresh = add_hook("instance_network_info")(lambda impl, context, instance: "ok")
    pm = nova_hookspec.get_plugin_manager()
    plugin = Tagged("gone", log)
    pm.register(plugin, "gone")
    refresh("net", "ctx", "i-1")
    assert len(log) == 2
    alive = weakref.ref(plugin)
    pm.unregister(name="gone")
    del plugin
    gc.collect()
    assert alive() is None


# ------------------------------------------------------------ long phases


LEGACY = """
import hooklog

class Base:
    fail = False

    def pre(self, f, *args, **kwargs):
        hooklog.EVENTS.append((type(self).__name__, "pre", f.__name__, args[2], kwargs.get("nw_info")))
        if self.fail:
            raise ValueError(type(self).__name__)

    def post(self, f, rv, *args, **kwargs):
        hooklog.EVENTS.append((type(self).__name__, "post", f.__name__, rv, kwargs.get("nw_info")))

for _i in range({count}):
    globals()[f"Legacy{{_i}}"] = type(f"Legacy{{_i}}", (Base,), {{"fail": _i % 5 == 1}})
"""

TYPED = """
import hooklog
from nova_hookspec import hookimpl

class Base:
    def __init__(self):
        self.tag = type(self).__name__

    @hookimpl
    def instance_network_info_pre(self, instance, nw_info, args):
        hooklog.EVENTS.append((self.tag, "pre", len(args), instance, nw_info))
        if self.tag == "Typed3":
            raise RuntimeError(self.tag)

    @hookimpl
    def instance_network_info_post(self, result, instance, kwargs):
        hooklog.EVENTS.append((self.tag, "post", sorted(kwargs), result, instance))

for _i in range({count}):
    globals()[f"Typed{{_i}}"] = type(f"Typed{{_i}}", (Base,), {{}})()
"""


@pytest.mark.parametrize("count", [4, _dispatch.WRITTEN_OUT_LIMIT])
def test_a_long_phase_runs_as_a_written_out_one(
    site: Site, count: int, caplog: pytest.LogCaptureFixture,
) -> None:
    # 2 * count observers per phase: written out for 8, looped for twice the limit.
    site.add_dist("acme-legacy", {"nova.hooks": [
        f"instance_network_info = acme_legacy:Legacy{i}" for i in range(count)]},
        {"acme_legacy": LEGACY.format(count=count)})
    site.add_dist("acme-typed", {"nova_hookspec": [
        f"typed{i} = acme_typed:Typed{i}" for i in range(count)]},
        {"acme_typed": TYPED.format(count=count)})

    @add_hook("instance_network_info", pass_function=True)
    def refresh(impl, context, instance, nw_info=None):
        site.events.append(("nova", instance, nw_info))
        return f"refreshed {instance}"

    caplog.set_level(logging.WARNING, logger="nova_hookspec")
    assert refresh("net", "ctx", "i-1") == "refreshed i-1"
    assert refresh("net", "ctx", "i-2", nw_info="nw") == "refreshed i-2"
    dispatch = nova_hookspec.get_plugin_manager().dispatch(
        refresh.__nova_hookspec__.point)  # type: ignore[attr-defined]
    assert dispatch is not None
    assert dispatch.pre is not None
    assert dispatch.pre.written_out is (2 * count <= _dispatch.WRITTEN_OUT_LIMIT)

    expected: list[Any] = []
    failures = []
    for instance, nw_info, positional in (("i-1", None, 3), ("i-2", "nw", 3)):
        kwargs = ["nw_info"] if nw_info else []
        # Legacy classes first (discovery order: the nova.hooks group first).
        for i in range(count):
            expected.append((f"Legacy{i}", "pre", "refresh", instance, nw_info))
            if i % 5 == 1:
                failures.append((f"acme-legacy:acme_legacy:Legacy{i}[instance_network_info]",
                                 "instance_network_info_pre"))
        for i in range(count):
            expected.append((f"Typed{i}", "pre", positional, instance, nw_info))
            if i == 3:
                failures.append((f"acme-typed:acme_typed:Typed{i}", "instance_network_info_pre"))
        expected.append(("nova", instance, nw_info))
        for i in range(count):
            expected.append((f"Legacy{i}", "post", "refresh", f"refreshed {instance}", nw_info))
        for i in range(count):
            expected.append((f"Typed{i}", "post", kwargs, f"refreshed {instance}", instance))
    assert site.events == expected
    logged = [(r.getMessage().split("'")[1], r.getMessage().split("'")[3])
              for r in caplog.records if "failed in hook" in r.getMessage()]
    assert logged == failures


@pytest.mark.parametrize("observers", ["written out", "looped"])
def test_failure_lines_carry_the_calls_instance(
    site: Site, observers: str, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if observers == "looped":
        monkeypatch.setattr(_dispatch, "WRITTEN_OUT_LIMIT", 0)
    site.add_dist("acme-broken", {"nova.hooks": ["instance_network_info = acme_broken:Legacy"]},
                  {"acme_broken": """
class Legacy:
    def pre(self, *args, **kwargs):
        raise ValueError("legacy pre")
"""})

    class Broken:
        @hookimpl
        def instance_network_info_post(self, instance: Any) -> None:
            raise ValueError("typed post")

        @hookimpl(wrapper=True)
        def instance_network_info(self) -> Any:
            yield
            raise ValueError("wrapper after")

    @add_hook("instance_network_info")
    def refresh(impl, context, instance, nw_info=None):
        return "ok"

    nova_hookspec.get_plugin_manager().register(Broken(), "broken")
    caplog.set_level(logging.WARNING, logger="nova_hookspec")
    instance = SimpleNamespace(uuid="uuid-7")
    for call in (lambda: refresh("net", "ctx", instance), lambda: refresh("net", "ctx",
                                                                         instance=instance)):
        caplog.clear()
        assert call() == "ok"
        failures = [r for r in caplog.records if "failed in hook" in r.getMessage()]
        assert [r.getMessage().rsplit(": ", 2)[-2:] for r in failures] == [
            ["ValueError", "legacy pre"], ["ValueError", "wrapper after"],
            ["ValueError", "typed post"]]
        assert [getattr(r, "instance_uuid", None) for r in failures] == ["uuid-7"] * 3


def test_a_traceback_through_a_runner_shows_its_generated_lines() -> None:
    """The runner and argument plan are written at run time; a traceback, pdb and
    inspect show their lines as a file's (issue 28: visible to debuggers)."""
    import inspect
    import traceback

    class Wrapper:
        @hookimpl(wrapper=True)
        def create_instance(self) -> Any:
            return (yield)

    nova_hookspec.get_plugin_manager().register(Wrapper(), "wrapper")

    @add_hook("create_instance")
    def create(self: Any, context: Any) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError) as caught:
        create(None, None)
    frames = traceback.extract_tb(caught.value.__traceback__)
    generated = [frame for frame in frames if frame.filename.startswith("<nova_hookspec runner")]
    assert generated, [frame.filename for frame in frames]
    assert "result = function(*args, **kwargs)" in [frame.line for frame in generated]
    runner_frame = next(tb.tb_frame for tb in _walk(caught.value.__traceback__)
                        if tb.tb_frame.f_code.co_filename.startswith("<nova_hookspec runner"))
    assert "def run(args, kwargs):" in inspect.getsource(runner_frame.f_code)


def _walk(tb: Any) -> Any:
    while tb is not None:
        yield tb
        tb = tb.tb_next

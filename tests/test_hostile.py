"""A hostile environment (round three): plugins and distributions that break
naive code, each installed as a real distribution."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Site

import nova_hookspec
from nova_hookspec import add_hook


@add_hook("delete_instance")
def delete(self, context, instance, bdms):
    return f"deleted {instance}"


def cli(site: Site, *args: str, env: dict[str, str] | None = None,
        ) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site.root), *sys.path]),
               **(env or {})}
    return subprocess.run([sys.executable, "-m", "nova_hookspec", *args], capture_output=True,
                          text=True, env=environ, timeout=120, check=False)


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


# 8. A plugin whose __eq__ raises does not break discovery or the hooked call.

NAIVE_EQ = """
import hooklog
from nova_hookspec import hookimpl

class Plugin:
    def __init__(self, name):
        self.name = name
    def __eq__(self, other):
        return self.name == other.name   # raises for objects without .name
    __hash__ = object.__hash__
    @hookimpl
    def delete_instance_pre(self, instance):
        hooklog.EVENTS.append((self.name, instance))

FIRST, SECOND = Plugin("first"), Plugin("second")
"""


def test_plugin_whose_eq_raises_is_registered_and_runs(
        site: Site, caplog: pytest.LogCaptureFixture) -> None:
    site.add_dist("acme-eq", {"nova_hookspec": ["first = acme_eq:FIRST",
                                                "second = acme_eq:SECOND"]},
                  {"acme_eq": NAIVE_EQ})
    assert delete("mgr", "ctx", "i-1", []) == "deleted i-1"
    assert delete("mgr", "ctx", "i-2", []) == "deleted i-2"
    assert sorted(site.events) == [("first", "i-1"), ("first", "i-2"),
                                   ("second", "i-1"), ("second", "i-2")]
    assert errors(caplog) == []
    pm = nova_hookspec.get_plugin_manager()
    first = sys.modules["acme_eq"].FIRST
    assert pm.get_name(first) == "acme-eq:acme_eq:FIRST"
    assert pm.is_registered(first)
    pm.unregister(first)
    assert not pm.is_registered(first)
    assert pm.is_registered(sys.modules["acme_eq"].SECOND)
    checked = cli(site, "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "2 plugin(s) ok, 0 broken" in checked.stdout


# 9. A legacy entry point named like a dunder is refused and leaves nothing behind.

@pytest.mark.parametrize("hook", ["__init__", "__call__", "_private"])
def test_dunder_legacy_entry_point_is_refused_cleanly(
        site: Site, hook: str, caplog: pytest.LogCaptureFixture) -> None:
    site.add_dist("acme-dunder", {"nova.hooks": [f"{hook} = acme_dunder:Hook",
                                                 "delete_instance = acme_dunder:Hook"]}, {
        "acme_dunder": "import hooklog\nclass Hook:\n    def pre(self, *a, **k):\n"
                       "        hooklog.EVENTS.append(a[2])\n"})
    assert delete("mgr", "ctx", "i-1", []) == "deleted i-1"
    assert site.events == ["i-1"]
    assert any(f"hook name {hook!r} is refused" in m for m in errors(caplog))
    nova_hookspec.reset()
    assert delete("mgr", "ctx", "i-2", []) == "deleted i-2"
    from nova_hookspec.testing import HookTester

    HookTester()
    for command in ("list", "check"):
        done = cli(site, command)
        assert done.returncode == 1, done.stdout + done.stderr
        assert "set_specification" not in done.stderr  # the crash it was
        assert f"hook name {hook!r} is refused" in done.stdout + done.stderr


# 11. A stale copy of a distribution later on sys.path does not run.

def test_stale_copy_later_on_sys_path_is_ignored(
        site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The copy Python imports (first on sys.path): version 2 declares no plugin any more.
    site.add_dist("acme-stale", {"console_scripts": ["acme = acme_stale:main"]},
                  {"acme_stale": "def main():\n    pass\n"}, version="2.0")
    # A stale copy of version 1 further down sys.path still declares one.
    stale = tmp_path / "stale"
    info = stale / "acme_stale-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-stale\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[nova_hookspec]\nold = acme_stale_old\n")
    (stale / "acme_stale_old.py").write_text(
        "import hooklog\nfrom nova_hookspec import hookimpl\n\n@hookimpl\n"
        "def delete_instance_pre(instance):\n    hooklog.EVENTS.append(('stale', instance))\n")
    monkeypatch.syspath_prepend(str(site.root))  # site first, the stale copy after it
    sys.path.insert(sys.path.index(str(site.root)) + 1, str(stale))
    try:
        assert delete("mgr", "ctx", "i-1", []) == "deleted i-1"
        assert site.events == []
        assert nova_hookspec.get_plugin_manager().plugin_infos == {}
    finally:
        sys.path.remove(str(stale))
        sys.modules.pop("acme_stale_old", None)


# 12. entry_points.txt as importlib.metadata reads it; extras on a module-only value.

def test_entry_points_file_that_importlib_accepts_loads_every_plugin(
        site: Site, caplog: pytest.LogCaptureFixture) -> None:
    site.add_dist("acme-odd", {}, {
        "acme_odd": "import hooklog\nclass Hook:\n    def pre(self, *a, **k):\n"
                    "        hooklog.EVENTS.append(('legacy', a[2]))\n",
        "acme_extras": "import hooklog\nfrom nova_hookspec import hookimpl\n\n@hookimpl\n"
                       "def delete_instance_pre(instance):\n"
                       "    hooklog.EVENTS.append(('extras', instance))\n"})
    info = site.root / "acme_odd-1.0.dist-info"
    (info / "entry_points.txt").write_text(
        "stray = line before any section\n"
        "[console_scripts]\n"
        "acme-broken =\n"
        "[nova.hooks]\n"
        "delete_instance = acme_odd:Hook\n"
        "create_instance =\n"
        "[nova_hookspec]\n"
        "extras = acme_extras [fast]\n")
    assert delete("mgr", "ctx", "i-1", []) == "deleted i-1"
    assert sorted(site.events) == [("extras", "i-1"), ("legacy", "i-1")]
    checked = cli(site, "check")
    assert checked.returncode == 1
    assert "malformed entry point 'create_instance' = ''" in checked.stdout
    assert "2 plugin(s) ok, 1 broken" in checked.stdout


# 13. unregister takes back the order the removed plugin imposed.

ORDERED = """
import hooklog
from nova_hookspec import hookimpl

@hookimpl{marks}
def delete_instance_pre(instance):
    hooklog.EVENTS.append({name!r})
"""


def test_unregister_takes_back_the_order_it_imposed(site: Site) -> None:
    from nova_hookspec._cli import listing as _listing

    for name, marks in (("acme-a", ""), ("acme-b", ""),
                        ("acme-c", '(before="acme-a", after="acme-b")')):
        module = name.replace("-", "_")
        site.add_dist(name, {"nova_hookspec": [f"p = {module}"]},
                      {module: ORDERED.format(marks=marks, name=name)})
    delete("mgr", "ctx", "i-1", [])
    assert site.events == ["acme-b", "acme-c", "acme-a"]
    pm = nova_hookspec.get_plugin_manager()
    pm.unregister(name="acme-c:acme_c")
    site.events.clear()
    delete("mgr", "ctx", "i-2", [])
    assert site.events == ["acme-a", "acme-b"]  # discovery order again
    rules = [step.rule for step in _listing.run_order(pm, "delete_instance_pre")]
    assert all(rule.startswith("discovery order #") for rule in rules), rules


# 14. KeyboardInterrupt and SystemExit are never swallowed by a wrapper.

SWALLOWER = """
from nova_hookspec import hookimpl

@hookimpl(wrapper=True, tryfirst=True)
def delete_instance(instance):
    try:
        return (yield)
    except BaseException:
        return "swallowed"
"""

INTERRUPTER = """
from nova_hookspec import hookimpl

@hookimpl(wrapper=True, trylast=True)
def delete_instance(instance):
    yield
    raise {exc}("from the inner wrapper")
"""


@pytest.mark.parametrize("exc", [KeyboardInterrupt, SystemExit])
@pytest.mark.parametrize("source", ["nova", "plugin"])
def test_outer_wrapper_cannot_swallow_interrupts(
        site: Site, exc: type[BaseException], source: str,
        caplog: pytest.LogCaptureFixture) -> None:
    site.add_dist("acme-swallow", {"nova_hookspec": ["s = acme_swallow"]},
                  {"acme_swallow": SWALLOWER})
    if source == "plugin":
        site.add_dist("acme-interrupt", {"nova_hookspec": ["i = acme_interrupt"]},
                      {"acme_interrupt": INTERRUPTER.format(exc=exc.__name__)})

        @add_hook("delete_instance")
        def target(self, context, instance, bdms):
            return "deleted"
    else:
        @add_hook("delete_instance")
        def target(self, context, instance, bdms):
            raise exc("from Nova")

    for _ in range(3):  # planned, then through the written runner
        with pytest.raises(exc):
            target("mgr", "ctx", "i-1", [])
    assert any(f"a wrapper cannot swallow {exc.__name__}" in m for m in errors(caplog))


# 18. A pass-through wrapper is not blamed when Nova raises StopIteration.

def test_pass_through_wrapper_is_not_blamed_for_novas_stop_iteration(
        site: Site, caplog: pytest.LogCaptureFixture) -> None:
    site.add_dist("acme-pass", {"nova_hookspec": ["p = acme_pass"]}, {"acme_pass": """
from nova_hookspec import hookimpl

@hookimpl(wrapper=True)
def delete_instance(instance):
    return (yield)
"""})

    @add_hook("delete_instance")
    def target(self, context, instance, bdms):
        raise StopIteration("Nova's own")

    for _ in range(3):  # planned, then through the written runner
        with pytest.raises(StopIteration, match="Nova's own"):
            target("mgr", "ctx", "i-1", [])
    assert errors(caplog) == []


# 15. Positional-only parameters work with tracing on and in the kit, as without.

POSITIONAL_ONLY = """
import hooklog
from nova_hookspec import hookimpl

class Plugin:
    @hookimpl
    def delete_instance_pre(self, instance, context=None, /):
        hooklog.EVENTS.append(("pre", instance, context))

    @hookimpl(wrapper=True)
    def delete_instance(self, instance, bdms=None, /):
        hooklog.EVENTS.append(("wrap", instance, bdms))
        return (yield)

PLUGIN = Plugin()
"""


@pytest.mark.parametrize("trace", ["0", "1"])
def test_positional_only_parameters_with_and_without_tracing(
        site: Site, trace: str, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("NOVA_HOOKSPEC_TRACE", trace)
    site.add_dist("acme-posonly", {"nova_hookspec": ["p = acme_posonly:PLUGIN"]},
                  {"acme_posonly": POSITIONAL_ONLY})

    @add_hook("delete_instance")
    def target(self, context, instance, bdms):
        return "deleted"

    assert target("mgr", "ctx", "i-1", ["bdm"]) == "deleted"
    assert site.events == [("pre", "i-1", "ctx"), ("wrap", "i-1", ["bdm"])]
    assert errors(caplog) == []


def test_positional_only_parameters_in_the_kit(site: Site) -> None:
    from nova_hookspec.testing import HookTester

    site.add_module("acme_posonly", POSITIONAL_ONLY)
    import acme_posonly  # type: ignore[import-not-found]

    with HookTester() as tester:
        tester.register(acme_posonly.PLUGIN)
        run = tester.run("delete_instance")
    assert run.failures == []
    assert [event[0] for event in site.events] == ["pre", "wrap"]


# 16. A functools.wraps-decorated hookimpl gets its arguments; an unhashable plugin
# registers (every pluggy, 0.13.1 included).

DECORATED = """
import dataclasses
import functools
import hooklog
from nova_hookspec import hookimpl

def logged(function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        hooklog.EVENTS.append(("logged", function.__name__))
        return function(*args, **kwargs)
    return wrapper

@hookimpl
@logged
def delete_instance_pre(instance, context):
    hooklog.EVENTS.append(("pre", instance, context))

@dataclasses.dataclass
class Unhashable:
    name: str

    @hookimpl
    def delete_instance_post(self, instance, result):
        hooklog.EVENTS.append(("post", self.name, instance, result))

UNHASHABLE = Unhashable("u")
"""


def test_decorated_hookimpl_and_unhashable_plugin(
        site: Site, caplog: pytest.LogCaptureFixture) -> None:
    site.add_dist("acme-deco", {"nova_hookspec": ["d = acme_deco",
                                                  "u = acme_deco:UNHASHABLE"]},
                  {"acme_deco": DECORATED})

    @add_hook("delete_instance")
    def target(self, context, instance, bdms):
        return "deleted"

    assert target("mgr", "ctx", "i-1", []) == "deleted"
    assert site.events == [("logged", "delete_instance_pre"), ("pre", "i-1", "ctx"),
                           ("post", "u", "i-1", "deleted")]
    assert errors(caplog) == []
    report = nova_hookspec.get_plugin_manager().discovery
    assert report is not None
    assert report.problems == []
    assert len(report.registered) == 2


# 17. An error text holding surrogates is printed, not a crash or a logging error.

SURROGATES = """
import os
raise ImportError("cannot read " + os.fsdecode(b"/etc/acme/\\xff\\xfe.conf"))
"""


@pytest.mark.parametrize("command", [["check"], ["check", "--json"], ["list"], ["demo"]])
def test_error_text_with_surrogates_is_printable(site: Site, command: list[str]) -> None:
    site.add_dist("acme-bytes", {"nova_hookspec": ["b = acme_bytes"]},
                  {"acme_bytes": SURROGATES})
    done = cli(site, *command, env={"PYTHONIOENCODING": "utf-8"})
    assert "UnicodeEncodeError" not in done.stdout + done.stderr
    assert "--- Logging error ---" not in done.stdout + done.stderr
    assert r"cannot read /etc/acme/\udcff\udcfe.conf" in done.stdout + done.stderr
    assert done.returncode == (0 if command == ["demo"] else 1)


# 19. optionalhook implementations registered before their custom point is declared.

def test_optional_impls_registered_before_the_point_are_checked_when_it_is_declared(
        caplog: pytest.LogCaptureFixture) -> None:
    from nova_hookspec import hookimpl

    events: list[object] = []

    class Early:
        @hookimpl(optionalhook=True)
        def acme_resize_pre(self, args):
            events.append(("pre", args))

        @hookimpl(optionalhook=True)
        def acme_resize_post(self, instance):  # a custom point has args/kwargs/result only
            events.append(("post", instance))

        @hookimpl(optionalhook=True)
        def acme_resize(self, args):  # a plain impl on the call hook
            events.append(("plain call impl", args))

    nova_hookspec.get_plugin_manager().register(Early(), "early")

    @add_hook("acme_resize")  # Nova's module imports fine
    def resize(self, instance):
        return "resized"

    for _ in range(3):
        assert resize("api", "i-1") == "resized"
    assert events == [("pre", ("api", "i-1"))] * 3
    messages = errors(caplog)
    assert any("plugin 'early', hookimpl 'acme_resize': hook 'acme_resize' takes wrappers only"
               in m and "is dropped" in m for m in messages)
    assert any("hook 'acme_resize_post' has no argument 'instance'" in m for m in messages)
    assert not any("failed in hook" in m for m in messages)


# 20. compat.HookManager keeps no fresh f alive; configure() takes a string as a list.

def test_compat_run_pre_keeps_no_fresh_function_alive() -> None:
    import gc
    import weakref

    from nova_hookspec import compat

    manager = compat.HookManager("acme_bounded")
    refs = []
    for n in range(1000):
        def f(self, instance, n=n):  # a fresh function each call, as a lambda would be
            return n
        refs.append(weakref.ref(f))
        manager.run_pre("acme_bounded", ("api", "i-1"), {}, f=f)
        manager.run_post("acme_bounded", None, ("api", "i-1"), {}, f=f)
        del f
    gc.collect()
    alive = sum(ref() is not None for ref in refs)
    assert alive <= compat._DESCRIBED_MAX
    assert refs[0]() is None


def test_configure_takes_one_string_as_a_list(site: Site) -> None:
    for name in ("acme-evil", "acme-good"):
        module = name.replace("-", "_")
        site.add_dist(name, {"nova_hookspec": [f"p = {module}"]}, {module: f"""
import hooklog
from nova_hookspec import hookimpl

@hookimpl
def delete_instance_pre(instance):
    hooklog.EVENTS.append({name!r})
"""})
    try:
        nova_hookspec.configure(disable="acme-evil")
        nova_hookspec.reset()
        delete("mgr", "ctx", "i-1", [])
        assert site.events == ["acme-good"]
        nova_hookspec.configure(allow="acme-evil, acme-good", disable="acme-good")
        nova_hookspec.reset()
        site.events.clear()
        delete("mgr", "ctx", "i-1", [])
        assert site.events == ["acme-evil"]
    finally:
        nova_hookspec.configure()


# 21. compat behaves as Nova's tests of nova.hooks expect (the tests themselves run
# unchanged in nox -s nova, Nova 21 row).

def test_compat_hook_managers_as_novas_tests_use_them(monkeypatch: pytest.MonkeyPatch) -> None:
    from typing import NamedTuple

    from nova_hookspec import compat

    class Extension(NamedTuple):  # stevedore's, as Nova's tests build them
        name: str
        entry_point: object
        plugin: type
        obj: object

    called: list[str] = []

    class A:
        def pre(self, *args, **kwargs):
            called.append("pre-a")

    class B(A):
        def pre(self, *args, **kwargs):
            called.append("pre-b")

        def post(self, rv, *args, **kwargs):
            called.append(f"post-b {rv}")

    class WithFunction:
        def pre(self, f, *args, **kwargs):
            called.append(f"pre-{f.__name__}")

    compat.reset()
    real = compat.HookManager
    manager = real.make_test_instance(
        [Extension("acme_hook", None, A, A()), Extension("acme_hook", None, B, B())])
    monkeypatch.setattr(compat, "HookManager", lambda name: manager)
    compat.reset()

    @compat.add_hook("acme_hook")
    def hooked(a):
        return 42

    @compat.add_hook("acme_fn_hook", pass_function=True)
    def with_function(a):
        return 43

    assert hooked(1) == 42
    assert called == ["pre-a", "pre-b", "post-b 42"]  # in the order given
    assert compat._HOOKS["acme_hook"] is manager
    assert [e.plugin for e in compat._HOOKS["acme_hook"].extensions] == [A, B]
    assert hooked.__hook_name__ == "acme_hook"
    called.clear()
    monkeypatch.setattr(compat, "HookManager", lambda name: real.make_test_instance(
        [Extension(name, None, WithFunction, WithFunction())]))
    assert with_function(1) == 43
    assert called == ["pre-with_function"]
    compat.reset()
    assert compat._HOOKS == {}


def test_compat_manager_lists_the_discovered_classes_in_run_order(site: Site) -> None:
    from nova_hookspec import compat

    site.add_dist("acme-real", {"nova.hooks": ["acme_real = acme_real:First",
                                               "acme_real = acme_real:Second"]}, {
        "acme_real": "class First:\n    def pre(self, *a, **k):\n        pass\n"
                     "class Second:\n    trylast = True\n"
                     "    def post(self, rv, *a, **k):\n        pass\n"})
    extensions = compat.HookManager("acme_real").extensions
    assert [(e.name, e.plugin.__name__, e.entry_point) for e in extensions] == [
        ("acme_real", "First", "acme_real = acme_real:First"),
        ("acme_real", "Second", "acme_real = acme_real:Second")]
    assert isinstance(extensions[0].obj, extensions[0].plugin)


# 22. Hooks a plugin adds with add_hookspecs behave as in pluggy.

def test_hooks_added_by_a_plugin_work_as_in_pluggy(caplog: pytest.LogCaptureFixture) -> None:
    import pluggy

    from nova_hookspec import hookimpl, hookspec

    PluginValidationError = pluggy.PluginValidationError  # noqa: N806 - pluggy's own
    pm = nova_hookspec.get_plugin_manager()

    class AddedSpecs:
        @hookspec
        def acme_added(self, value):
            """A hook another plugin offers."""

        @hookspec(historic=True)
        def acme_configure(self, config):
            """Historic: replayed to plugins registered later."""

    pm.add_hookspecs(AddedSpecs)
    pm.hook.acme_configure.call_historic(kwargs={"config": "cfg"})
    seen: list[object] = []

    class Implementer:
        @hookimpl
        def acme_added(self, value):
            return value * 2

        @hookimpl
        def acme_configure(self, config):
            seen.append(config)

    implementer = Implementer()
    pm.register(implementer, "implementer")
    assert pm.hook.acme_added(value=21) == [42]
    assert seen == ["cfg"]  # the historic call replayed

    class Misspelled:
        @hookimpl
        def acme_added(self, valeu):
            pass

    with pytest.raises(PluginValidationError, match="valeu"):
        pm.register(Misspelled(), "misspelled")
    assert pm.get_plugin("misspelled") is None

    class Both:
        @hookimpl(wrapper=True, hookwrapper=True)
        def acme_added(self, value):
            yield

    with pytest.raises(PluginValidationError, match="mutually exclusive"):
        pm.register(Both(), "both")

    subset = pm.subset_hook_caller("acme_added", remove_plugins=[])
    assert subset(value=1) == [2]
    pm.unregister(implementer)
    assert subset(value=1) == []
    assert pm.hook.acme_added(value=1) == []
    assert isinstance(pm, pluggy.PluginManager)

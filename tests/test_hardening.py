"""What broken plugins, odd environments and operators' typos do (issue 13).

Each test installs real distributions (``.dist-info`` folders on sys.path)
and checks what a Nova operator would see: the hooked call's outcome, the
log, the CLI.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Site

import nova_hookspec
from nova_hookspec import add_hook, compat, hookimpl


@add_hook("delete_instance")
def delete(self, context, instance, bdms):
    return f"deleted {instance}"


@add_hook("create_instance")
def create(self, context, flavor, image_href):
    return [], "r-1"


def problems(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def cli(site: Site, *args: str, env: dict[str, str] | None = None,
        ) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site.root), *sys.path]),
               **(env or {})}
    return subprocess.run([sys.executable, "-m", "nova_hookspec", *args], capture_output=True,
                          text=True, env=environ, timeout=120, check=False)


GOOD = """
import hooklog
from nova_hookspec import hookimpl

@hookimpl
def delete_instance_post(instance):
    hooklog.EVENTS.append(("good", instance))
"""


def good_plugin(site: Site) -> None:
    site.add_dist("acme-good", {"nova_hookspec": ["good = acme_good"]}, {"acme_good": GOOD})


# 1 -------------------------------------------------------------- an exception whose __str__ raises


def test_import_error_whose_str_raises_is_one_logged_problem(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    good_plugin(site)
    site.add_dist("acme-weird", {"nova_hookspec": ["weird = acme_weird"]}, {"acme_weird": """
class Weird(Exception):
    def __str__(self):
        raise RuntimeError("no message for you")

raise Weird()
"""})
    assert delete("mgr", "ctx", "i-1", []) == "deleted i-1"
    assert delete("mgr", "ctx", "i-2", []) == "deleted i-2"
    assert site.events == [("good", "i-1"), ("good", "i-2")]
    [message] = [m for m in problems(caplog) if "acme-weird" in m]
    assert "failed to load: Weird (its message could not be formatted" in message


# 2 -------------------------------------------------------------- METADATA that is not UTF-8


@pytest.mark.parametrize("autoload", ["1", "0"])
def test_metadata_that_is_not_utf8_breaks_nothing(
    site: Site, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, autoload: str
) -> None:
    good_plugin(site)
    site.add_dist("acme-latin", {"nova_hookspec": ["latin = acme_latin"]}, {"acme_latin": GOOD})
    info = next(site.root.glob("acme_latin-*.dist-info"))
    (info / "METADATA").write_bytes(
        b"Metadata-Version: 2.1\nName: acme-latin\nVersion: 1.0\nAuthor: Jos\xe9 Mu\xf1oz\n")
    monkeypatch.setenv("NOVA_HOOKSPEC_DISABLE_AUTOLOAD", "0" if autoload == "1" else "1")
    assert delete("mgr", "ctx", "i-1", []) == "deleted i-1"
    if autoload == "1":
        assert sorted(site.events) == [("good", "i-1"), ("good", "i-1")]
        names = sorted(nova_hookspec.get_plugin_manager().plugin_infos)
        assert names == ["acme-good:acme_good", "acme_latin:acme_latin"]  # named after its folder
        assert any("acme_latin" in m and "metadata could not be read" in m
                   for m in problems(caplog))
    else:
        assert site.events == []


# 3 -------------------------------------------------------------- a plugin object whose dir() raises


def test_plugin_whose_dir_raises_is_skipped_and_named(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    good_plugin(site)
    site.add_dist("acme-nodir", {"nova_hookspec": ["nodir = acme_nodir:PLUGIN"]}, {"acme_nodir": """
class NoDir:
    def __dir__(self):
        raise OSError("dir() is not for you")

PLUGIN = NoDir()
"""})
    assert delete("mgr", "ctx", "i-1", []) == "deleted i-1"
    assert site.events == [("good", "i-1")]
    [message] = [m for m in problems(caplog) if "acme-nodir" in m]
    assert "cannot be inspected" in message
    assert "OSError: dir() is not for you" in message


def test_register_in_code_of_a_plugin_whose_dir_raises_raises_a_validation_error() -> None:
    class NoDir:
        def __dir__(self) -> list[str]:
            raise OSError("no")

    with pytest.raises(nova_hookspec.PluginValidationError, match="cannot be inspected"):
        nova_hookspec.get_plugin_manager().register(NoDir(), "nodir")


# 4 -------------------------------------------------------------- sys.exit() in a constructor


def test_legacy_constructor_calling_sys_exit_is_skipped(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    good_plugin(site)
    site.add_dist("acme-exit", {"nova.hooks": ["delete_instance = acme_exit:Quitter"]},
                  {"acme_exit": """
import sys

class Quitter:
    def __init__(self):
        sys.exit(3)

    def pre(self, *args, **kwargs):
        pass
"""})
    assert delete("mgr", "ctx", "i-1", []) == "deleted i-1"
    assert delete("mgr", "ctx", "i-2", []) == "deleted i-2"
    [message] = [m for m in problems(caplog) if "acme-exit" in m]
    assert "could not be set up: SystemExit: 3" in message


# 5 -------------------------------------------------------------- Nova's own FatalHookException


NOVA_HOOKS = """
class FatalHookException(Exception):
    pass
"""


@pytest.mark.parametrize("through", ["add_hook", "compat"])
def test_nova_21_fatal_hook_exception_is_fatal_without_attach(site: Site, through: str) -> None:
    site.add_module("nova.__init__", "")
    site.add_module("nova.hooks", NOVA_HOOKS)
    site.add_dist("acme-refuse", {"nova.hooks": ["resize_hook = acme_refuse:Refuse"]},
                  {"acme_refuse": """
from nova import hooks

class Refuse:
    def pre(self, *args, **kwargs):
        raise hooks.FatalHookException("refused")
"""})
    ran = []
    decorate = add_hook if through == "add_hook" else compat.add_hook

    @decorate("resize_hook")
    def resize(self, context, instance):
        ran.append(instance)

    import nova.hooks  # type: ignore[import-not-found]

    with pytest.raises(nova.hooks.FatalHookException, match="refused"):
        resize("mgr", "ctx", "i-1")
    assert ran == []


# 6 -------------------------------------------------------------- legacy classes load per hook name


def test_legacy_classes_are_imported_when_their_hook_is_first_called(site: Site) -> None:
    site.add_dist("acme-api-side", {"nova.hooks": ["create_instance = acme_api:Hook"]},
                  {"acme_api": "import hooklog\nhooklog.EVENTS.append('imported api')\n"
                               "class Hook:\n    def pre(self, *a, **k):\n"
                               "        hooklog.EVENTS.append('api pre')\n"})
    site.add_dist("acme-compute-side", {"nova.hooks": ["delete_instance = acme_compute:Hook"]},
                  {"acme_compute": "import hooklog\nhooklog.EVENTS.append('imported compute')\n"
                                   "class Hook:\n    def pre(self, *a, **k):\n"
                                   "        hooklog.EVENTS.append('compute pre')\n"})
    nova_hookspec.get_plugin_manager()
    assert site.events == []
    create("api", "ctx", "m1", "img")
    assert site.events == ["imported api", "api pre"]  # nova-api never imports compute plugins
    delete("mgr", "ctx", "i-1", [])
    assert site.events == ["imported api", "api pre", "imported compute", "compute pre"]


# 7 -------------------------------------------------------------- list with a custom hook name


def test_list_shows_a_legacy_class_with_a_custom_hook_name(site: Site) -> None:
    site.add_dist("acme-resize", {"nova.hooks": ["resize_hook = acme_resize:Hook"]},
                  {"acme_resize": "class Hook:\n    def pre(self, *a, **k):\n        pass\n"})
    listed = cli(site, "list")
    assert listed.returncode == 0, listed.stderr
    assert "resize_hook  (custom)" in listed.stdout
    assert "acme-resize:acme_resize:Hook[resize_hook]" in listed.stdout


# 8 -------------------------------------------------------------- operator controls


def test_module_only_value_matches_disable_and_allow(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    site.add_dist("acme-nova-plugins", {"nova_hookspec": ["inventory = acme_inventory"]},
                  {"acme_inventory": GOOD})
    monkeypatch.setenv("NOVA_HOOKSPEC_DISABLE", "acme_inventory")  # the README's value form
    delete("mgr", "ctx", "i-1", [])
    assert site.events == []
    nova_hookspec.reset()
    monkeypatch.delenv("NOVA_HOOKSPEC_DISABLE")
    monkeypatch.setenv("NOVA_HOOKSPEC_PLUGINS", "acme_inventory")
    delete("mgr", "ctx", "i-2", [])
    assert site.events == [("good", "i-2")]


@pytest.mark.parametrize(("word", "loads"), [
    ("false", True), ("no", True), ("off", True), ("0", True), ("", True),
    ("1", False), ("TRUE", False), ("yes", False), ("On", False),
])
def test_boolean_controls_read_every_word_alike(
    site: Site, monkeypatch: pytest.MonkeyPatch, word: str, loads: bool
) -> None:
    good_plugin(site)
    monkeypatch.setenv("NOVA_HOOKSPEC_DISABLE_AUTOLOAD", word)
    delete("mgr", "ctx", "i-1", [])
    assert site.events == ([("good", "i-1")] if loads else [])


def test_unknown_boolean_word_is_reported_and_the_default_kept(
    site: Site, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    good_plugin(site)
    monkeypatch.setenv("NOVA_HOOKSPEC_DISABLE_AUTOLOAD", "maybe")
    delete("mgr", "ctx", "i-1", [])
    assert site.events == [("good", "i-1")]
    assert any("NOVA_HOOKSPEC_DISABLE_AUTOLOAD='maybe' is not a boolean" in m
               for m in problems(caplog))


@pytest.mark.parametrize("value", ["", "  ", ",,,"])
def test_empty_allow_list_is_ignored_with_a_warning(
    site: Site, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, value: str
) -> None:
    good_plugin(site)
    monkeypatch.setenv("NOVA_HOOKSPEC_PLUGINS", value)
    delete("mgr", "ctx", "i-1", [])
    assert site.events == [("good", "i-1")]
    assert any("NOVA_HOOKSPEC_PLUGINS names no plugin: ignored" in m for m in problems(caplog))


def test_a_name_matching_no_plugin_is_warned_about_and_fails_check(site: Site) -> None:
    good_plugin(site)
    checked = cli(site, "check", env={"NOVA_HOOKSPEC_PLUGINS": "acme-goood"})
    assert checked.returncode == 1
    assert ("NOVA_HOOKSPEC_PLUGINS names 'acme-goood', which matches no installed plugin; "
            "did you mean 'acme-good'?") in checked.stdout


def test_listed_in_both_tryfirst_and_trylast_keeps_the_plugin(
    site: Site, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    good_plugin(site)
    monkeypatch.setenv("NOVA_HOOKSPEC_TRYFIRST", "acme-good")
    monkeypatch.setenv("NOVA_HOOKSPEC_TRYLAST", "acme_good")
    delete("mgr", "ctx", "i-1", [])
    assert site.events == [("good", "i-1")]
    assert any("listed in both NOVA_HOOKSPEC_TRYFIRST and NOVA_HOOKSPEC_TRYLAST" in m
               for m in problems(caplog))


TWO_TYPED = """
import hooklog
from nova_hookspec import hookimpl

@hookimpl
def delete_instance_pre(instance):
    hooklog.EVENTS.append("{name}")
"""


@pytest.mark.parametrize("spelling", [
    "acme-{name}", "acme_{name}", "{name}", "create_instance = acme_{name}",
    "delete_instance=acme-{name}",
])
def test_tryfirst_by_any_name_form_orders_typed_plugins(
    site: Site, monkeypatch: pytest.MonkeyPatch, spelling: str
) -> None:
    for name in ("one", "two"):
        site.add_dist(f"acme-{name}", {"nova_hookspec": [f"{name} = acme_{name}"]},
                      {f"acme_{name}": TWO_TYPED.format(name=name)})
    delete("mgr", "ctx", "i-1", [])
    baseline = list(site.events)  # discovery order: the file system's
    site.events.clear()
    nova_hookspec.reset()
    last = baseline[-1]
    monkeypatch.setenv("NOVA_HOOKSPEC_TRYFIRST", spelling.format(name=last))
    delete("mgr", "ctx", "i-1", [])
    if spelling.startswith("create_instance"):  # placed on another hook point only
        assert site.events == baseline
    else:
        assert site.events == [last, baseline[0]]


# 9 -------------------------------------------------------------- green threads


def test_tracing_follows_green_threads(
    site: Site, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from greenlet import greenlet
    monkeypatch.setenv("NOVA_HOOKSPEC_TRACE", "1")
    caplog.set_level(logging.INFO, logger="nova_hookspec.trace")
    hub = greenlet.getcurrent()
    workers: list[object] = []

    class Switching:
        @hookimpl
        def delete_instance_pre(self, instance):  # type: ignore[no-untyped-def]
            hub.switch()  # another green thread runs its own hooked call meanwhile

        @hookimpl
        def create_instance_pre(self):  # type: ignore[no-untyped-def]
            hub.switch()

    nova_hookspec.get_plugin_manager().register(Switching(), "switching")
    for n in range(20):
        call = (lambda: delete("mgr", "ctx", "i", [])) if n % 2 else (
            lambda: create("api", "ctx", "m1", "img"))
        workers.append(greenlet(call))
    for worker in workers:
        worker.switch()  # each runs up to its switch
    for worker in workers:
        worker.switch()  # and then to its end
    lines = [r.getMessage() for r in caplog.records if r.name == "nova_hookspec.trace"]
    pre = [line for line in lines if "_pre:" in line]
    assert len(pre) == 20
    assert all(("switching" in line) for line in pre)
    calls = [line.split(":")[0] for line in lines if line.startswith("hook ")]
    assert calls.count("hook delete_instance_pre") == 10
    assert calls.count("hook create_instance_pre") == 10


# 10 ------------------------------------------------------------- a wrapper cannot swallow a fatal


def test_pre_hook_wrapper_cannot_swallow_a_fatal_exception(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ran = []

    @add_hook("delete_instance")
    def guarded(self, context, instance, bdms):
        ran.append(instance)

    class Stop:
        @hookimpl
        def delete_instance_pre(self):  # type: ignore[no-untyped-def]
            raise nova_hookspec.FatalHookException("stop")

    class Swallow:
        @hookimpl(wrapper=True, specname="delete_instance_pre")
        def swallow(self):  # type: ignore[no-untyped-def]
            try:
                yield
            except nova_hookspec.FatalHookException:
                return None

    pm = nova_hookspec.get_plugin_manager()
    pm.register(Stop(), "stop")
    pm.register(Swallow(), "swallow")
    with pytest.raises(nova_hookspec.FatalHookException):
        guarded("mgr", "ctx", "i-1", [])
    assert ran == []
    assert any("cannot swallow a fatal exception" in m for m in problems(caplog))


# 11 ------------------------------------------------------------- observers that would never run


@pytest.mark.parametrize("kind", ["generator", "async"])
def test_generator_or_async_observer_is_refused(kind: str) -> None:
    if kind == "generator":
        class Plugin:
            @hookimpl
            def delete_instance_pre(self, instance):  # type: ignore[no-untyped-def]
                yield
    else:
        class Plugin:  # type: ignore[no-redef]
            @hookimpl
            async def delete_instance_pre(self, instance):  # type: ignore[no-untyped-def]
                pass
    with pytest.raises(nova_hookspec.PluginValidationError, match="would never run"):
        nova_hookspec.get_plugin_manager().register(Plugin(), "never")


# 12 ------------------------------------------------------------- check: empty plugins, smoke run


@pytest.mark.parametrize(("value", "source", "why"), [
    ("acme_empty:NOTHING", "NOTHING = None\n", "implements no hook"),
    ("acme_empty:NUMBER", "NUMBER = 42\n", "implements no hook"),
    ("acme_empty", "X = 1\n", "implements no hook"),
    ("acme_empty:Plugin", "from nova_hookspec import hookimpl\nclass Plugin:\n"
     "    def __init__(self, url):\n        pass\n"
     "    @hookimpl\n    def delete_instance_pre(self):\n        pass\n",
     "is a class whose constructor needs 'url'"),
])
def test_check_refuses_a_typed_entry_point_that_implements_nothing(
    site: Site, value: str, source: str, why: str
) -> None:
    site.add_dist("acme-empty", {"nova_hookspec": [f"empty = {value}"]}, {"acme_empty": source})
    checked = cli(site, "check")
    assert checked.returncode == 1
    assert why in checked.stdout


PY2_HOOK = """
import sys

class PrintHook:
    def pre(self, *args, **kwargs):
        fd = sys.stderr
        print >>fd, "creating", args
"""


def test_smoke_run_flags_a_plugin_that_fails_on_every_call(site: Site) -> None:
    good_plugin(site)
    site.add_dist("acme-py2", {"nova.hooks": ["create_instance = acme_py2:PrintHook"]},
                  {"acme_py2": PY2_HOOK})
    plain = cli(site, "check")
    assert plain.returncode == 0, plain.stdout  # it imports fine
    smoke = cli(site, "check", "--smoke")
    assert smoke.returncode == 1
    assert ("smoke FAILED acme-py2:acme_py2:PrintHook[create_instance] create_instance_pre: "
            "TypeError") in smoke.stdout
    assert "smoke ok     acme-good:acme_good delete_instance_post" in smoke.stdout
    assert "1 smoke call(s) failed" in smoke.stdout


def test_check_help_documents_the_smoke_run() -> None:
    done = subprocess.run([sys.executable, "-m", "nova_hookspec", "check", "--help"],
                          capture_output=True, text=True, check=False)
    text = " ".join(done.stdout.split())
    assert "--smoke" in text
    assert "stand-in Nova objects" in text
    assert "side effects included" in text


# 13 ------------------------------------------------------------- a failure whose __str__ raises


def test_observer_failure_whose_str_raises_is_logged_cleanly(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    class WeirdError(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    class Plugin:
        @hookimpl
        def delete_instance_post(self):  # type: ignore[no-untyped-def]
            raise WeirdError()

    nova_hookspec.get_plugin_manager().register(Plugin(), "weird")
    handler = logging.StreamHandler(sys.stderr)
    logging.getLogger("nova_hookspec").addHandler(handler)
    try:
        assert delete("mgr", "ctx", "i-1", []) == "deleted i-1"
    finally:
        logging.getLogger("nova_hookspec").removeHandler(handler)
    assert "--- Logging error ---" not in capsys.readouterr().err
    assert any("plugin 'weird' failed in hook 'delete_instance_post'" in m
               and "WeirdError (its message could not be formatted" in m for m in problems(caplog))


# 14 ------------------------------------------------------------- one module, two distributions


def test_one_module_declared_by_two_distributions_registers_once(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    good_plugin(site)
    site.add_dist("acme-good-extra", {"nova_hookspec": ["good = acme_good"]})
    delete("mgr", "ctx", "i-1", [])
    assert site.events == [("good", "i-1")]
    assert problems(caplog) == []
    report = nova_hookspec.get_plugin_manager().discovery
    assert report is not None
    assert [(info.distribution, name) for info, name in report.duplicates] == [
        ("acme-good-extra", "acme-good:acme_good")]


# 15 ------------------------------------------------------------- run -m, list's exit status


def test_run_a_missing_module_says_so_without_a_traceback(site: Site) -> None:
    done = cli(site, "run", "-m", "no_such_module")
    assert done.returncode == 1
    assert done.stderr.strip() == "nova-hookspec run: no module named 'no_such_module'"


def test_list_exits_1_and_names_broken_plugins(site: Site) -> None:
    good_plugin(site)
    site.add_dist("acme-broken", {"nova_hookspec": ["broken = acme_broken"]},
                  {"acme_broken": "raise ImportError('gone')\n"})
    listed = cli(site, "list")
    assert listed.returncode == 1
    assert "acme-good:acme_good" in listed.stdout
    assert "broken plugin acme-broken:acme_broken: " in listed.stderr


def test_docs_say_what_changed() -> None:
    docs = Path(__file__).resolve().parent.parent / "docs"
    cli_page = (docs / "cli.md").read_text()
    assert "--smoke" in cli_page
    assert "exit status 1" in cli_page.lower()
    failure_page = (docs / "failure-semantics.md").read_text()
    for phrase in ("cannot swallow", "green thread", "SystemExit", "matches no installed plugin"):
        assert phrase in failure_page, phrase

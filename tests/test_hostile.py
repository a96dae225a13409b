"""A hostile environment (round three): plugins and distributions that break
naive code, each installed as a real distribution."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

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

"""``nova-hookspec list`` and ``check`` against real distributions, in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import Site

LEGACY = """
import hooklog
class A:
    def pre(self, *args, **kwargs):
        print("RAN legacy-a")
class B:
    trylast = True
    def pre(self, *args, **kwargs):
        print("RAN legacy-b")
"""

TYPED = """
from nova_hookspec import hookimpl

class First:
    @hookimpl(tryfirst=True)
    def create_instance_pre(self):
        print("RAN typed-first")

class Plain:
    @hookimpl
    def create_instance_pre(self):
        print("RAN typed-plain")

    @hookimpl(wrapper=True)
    def create_instance(self):
        print("RAN typed-wrapper")
        return (yield)

FIRST, PLAIN = First(), Plain()
"""

CALL = """
import nova_hookspec

@nova_hookspec.add_hook("create_instance")
def create(self, context, flavor, image_href):
    print("RAN nova")
    return [], "r"

create("api", "ctx", "m1", "img")
"""


def cli(site: Site, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site.root), *sys.path])}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env,
                          timeout=120, check=False)


def install_example_set(site: Site) -> None:
    site.add_dist("acme-legacy", {"nova.hooks": [
        "create_instance = acme_legacy:A", "create_instance = acme_legacy:B"]},
        {"acme_legacy": LEGACY})
    site.add_dist("acme-typed", {"nova_hookspec": [
        "first = acme_typed:FIRST", "plain = acme_typed:PLAIN"]}, {"acme_typed": TYPED})


def test_list_order_is_the_call_order(site: Site) -> None:
    install_example_set(site)
    listed = cli(site, "-m", "nova_hookspec", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    entries = {e["hook"]: e for e in json.loads(listed.stdout)["hooks"]}
    names = {
        "acme-legacy:acme_legacy:A[create_instance]": "legacy-a",
        "acme-legacy:acme_legacy:B[create_instance]": "legacy-b",
        "acme-typed:acme_typed:FIRST": "typed-first",
        "acme-typed:acme_typed:PLAIN": "typed-plain",
        "Nova's callable": "nova",
    }
    listed_order = [names[s["plugin"]] for s in entries["create_instance_pre"]["order"]]
    listed_order += ["typed-wrapper" if s["wrapper"] else names[s["plugin"]]
                     for s in entries["create_instance"]["order"]]
    site.add_module("acme_call", CALL)
    ran = cli(site, "-c", "import acme_call")
    assert ran.returncode == 0, ran.stderr
    run_order = [line[4:] for line in ran.stdout.splitlines() if line.startswith("RAN ")]
    assert listed_order == run_order
    assert run_order == ["typed-first", "legacy-a", "typed-plain", "legacy-b",
                         "typed-wrapper", "nova"]
    first = entries["create_instance_pre"]["order"][0]
    assert (first["kind"], first["tryfirst"], first["distribution"], first["entry_point"]) == (
        "typed", True, "acme-typed", "acme_typed:FIRST")


def test_list_human_form(site: Site) -> None:
    install_example_set(site)
    listed = cli(site, "-m", "nova_hookspec", "list")
    assert listed.returncode == 0, listed.stderr
    assert "create_instance  (nova.compute.api:API.create)" in listed.stdout
    assert ("1. acme-typed:acme_typed:FIRST  [typed, acme-typed 1.0; tryfirst, discovery order #3]"
            in listed.stdout)
    assert "-> Nova's callable, innermost" in listed.stdout


def test_check_clean_plugins_exit_zero(site: Site) -> None:
    install_example_set(site)
    done = cli(site, "-m", "nova_hookspec", "check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 plugin(s) ok, 0 broken," in done.stdout


def test_check_reports_every_problem_with_nearest_names(site: Site) -> None:
    install_example_set(site)
    site.add_dist("acme-broken", {
        "nova_hookspec": ["typo = acme_broken:TYPO", "arg = acme_broken:ARG",
                          "gen = acme_broken:GEN", "missing = acme_gone"],
        "nova.hooks": ["delete_instance = acme_broken:Ctor"],
    }, {"acme_broken": """
from nova_hookspec import hookimpl

class Typo:
    @hookimpl
    def create_instanse_post(self, result):
        pass

class Arg:
    @hookimpl
    def delete_instance_pre(self, instanse):
        pass

class Gen:
    @hookimpl(wrapper=True)
    def delete_instance(self):
        return None

class Ctor:
    def __init__(self):
        raise OSError("cannot read /etc/acme.conf")
    def pre(self, *args, **kwargs):
        pass

TYPO, ARG, GEN = Typo(), Arg(), Gen()
"""})
    done = cli(site, "-m", "nova_hookspec", "check")
    assert done.returncode == 1
    out = done.stdout
    assert "did you mean 'create_instance_post'" in out
    assert "has no argument 'instanse'; did you mean 'instance'" in out
    assert "must be a generator function" in out
    assert "No module named 'acme_gone'" in out
    assert "cannot read /etc/acme.conf" in out
    assert "4 plugin(s) ok, 5 broken," in out


def test_check_shows_blocked_plugins(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    install_example_set(site)
    monkeypatch.setenv("NOVA_HOOKSPEC_DISABLE", "acme-legacy")
    done = cli(site, "-m", "nova_hookspec", "check")
    assert done.returncode == 0
    assert "blocked acme-legacy:acme_legacy:A[create_instance]: disabled" in done.stdout
    assert "2 plugin(s) ok, 0 broken," in done.stdout


def test_trace_environment_variable_logs_per_plugin_durations(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_example_set(site)
    site.add_module("acme_call", "import logging\nlogging.basicConfig(level=logging.INFO)\n" + CALL)
    monkeypatch.setenv("NOVA_HOOKSPEC_TRACE", "1")
    ran = cli(site, "-c", "import acme_call")
    assert ran.returncode == 0, ran.stderr
    [line] = [ln for ln in ran.stderr.splitlines() if "hook create_instance_pre:" in ln]
    assert "nova_hookspec.trace" in line
    for plugin in ("acme-typed:acme_typed:FIRST", "acme-legacy:acme_legacy:A[create_instance]"):
        assert f"{plugin} " in line
        assert " ms" in line
    [call] = [ln for ln in ran.stderr.splitlines() if "hook create_instance:" in ln]
    assert "(nova)" in call

"""Explicit order: the operator's order, plugins' before/after, cycles (hypothesis).

Each example installs real distributions (typed plugins on the
``nova_hookspec`` entry-point group) in a fresh folder on ``sys.path``,
makes a real hooked call and reads the order the plugins ran in.
"""

from __future__ import annotations

import importlib
import itertools
import logging
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sitehelper import Site

import nova_hookspec
from nova_hookspec import add_hook, hookimpl
from nova_hookspec._cli import listing as _listing


@add_hook("delete_instance")
def delete(self, context, instance, bdms):
    return None


PLUGIN = """
import hooklog
from nova_hookspec import hookimpl

MARKS = {marks!r}

@hookimpl(**MARKS)
def delete_instance_pre(instance):
    hooklog.EVENTS.append("{name}")

@hookimpl(**MARKS)
def delete_instance_post(instance):
    hooklog.EVENTS.append("post {name}")
"""


class Installation:
    """Plugins ``acme-p0`` ... installed in a fresh folder on sys.path."""

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory()
        self.site = Site(Path(self._tmp.name))
        sys.path.insert(0, self._tmp.name)

    def add(self, index: int, marks: dict[str, Any]) -> None:
        name = f"acme-p{index}"
        self.site.add_dist(name, {"nova_hookspec": [f"p{index} = acme_p{index}"]},
                           {f"acme_p{index}": PLUGIN.format(marks=marks, name=name)})

    def close(self) -> None:
        sys.path.remove(self._tmp.name)
        for module in list(sys.modules):
            if module.split(".")[0] in self.site.modules:
                del sys.modules[module]
        importlib.invalidate_caches()
        self._tmp.cleanup()

    def run(self) -> tuple[list[str], list[str]]:
        """One hooked call: the pre order and the post order."""
        self.site.events.clear()
        delete("mgr", "ctx", "i-1", [])
        pre = [e for e in self.site.events if not e.startswith("post ")]
        post = [e[5:] for e in self.site.events if e.startswith("post ")]
        return pre, post


def listed(hook: str) -> list[str]:
    [entry] = [e for e in _listing.listing(nova_hookspec.get_plugin_manager())
               if e["hook"] == hook]
    return [step["distribution"] for step in entry["order"]]


def name_form(index: int, form: int) -> str:
    return (f"acme-p{index}", f"acme_p{index}", f"p{index}", f"ACME.P{index}")[form]


@st.composite
def orderings(draw: st.DrawFn) -> dict[str, Any]:
    """Plugins, marks, declarations and an operator order, all consistent with one
    hidden total order (so without cycles)."""
    count = draw(st.integers(2, 6))
    hidden = draw(st.permutations(range(count)))
    rank = {plugin: position for position, plugin in enumerate(hidden)}
    pairs = [(a, b) for a, b in itertools.permutations(range(count), 2) if rank[a] < rank[b]]
    declared = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=4)) if pairs else []
    chain = [p for p in hidden if draw(st.booleans())]
    marks = {i: draw(st.sampled_from(["plain", "tryfirst", "trylast"])) for i in range(count)}
    forms = {i: draw(st.integers(0, 3)) for i in range(count)}
    return {"count": count, "declared": declared, "chain": chain, "marks": marks,
            "forms": forms, "as_after": draw(st.booleans())}


def install(case: dict[str, Any]) -> Installation:
    installation = Installation()
    for index in range(case["count"]):
        marks: dict[str, Any] = {}
        if case["marks"][index] != "plain":
            marks[case["marks"][index]] = True
        before = [name_form(b, case["forms"][b]) for a, b in case["declared"]
                  if a == index and not case["as_after"]]
        after = [name_form(a, case["forms"][a]) for a, b in case["declared"]
                 if b == index and case["as_after"]]
        if before:
            marks["before"] = before
        if after:
            marks["after"] = after
        installation.add(index, marks)
    return installation


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=orderings())
def test_order_satisfies_every_constraint_and_is_stable(case: dict[str, Any]) -> None:
    nova_hookspec.reset()
    installation = install(case)
    try:
        chain = [name_form(p, case["forms"][p]) for p in case["chain"]]
        nova_hookspec.configure(order=chain)
        pre, post = installation.run()
        position = {name: i for i, name in enumerate(pre)}
        assert sorted(pre) == sorted(f"acme-p{i}" for i in range(case["count"]))
        assert post == pre  # the same order in every phase
        for first, then in zip(case["chain"], case["chain"][1:]):
            assert position[f"acme-p{first}"] < position[f"acme-p{then}"], (pre, case)
        for first, then in case["declared"]:
            assert position[f"acme-p{first}"] < position[f"acme-p{then}"], (pre, case)
        assert listed("delete_instance_pre") == pre
        nova_hookspec.reset()
        assert installation.run() == (pre, post)  # the same on a new discovery
    finally:
        nova_hookspec.configure()
        nova_hookspec.reset()
        installation.close()


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(count=st.integers(2, 5), data=st.data())
def test_a_cycle_is_one_error_naming_it_and_every_plugin_runs_once(
    count: int, data: st.DataObject, caplog: pytest.LogCaptureFixture
) -> None:
    nova_hookspec.reset()
    caplog.clear()
    cycle = data.draw(st.permutations(range(count)))
    installation = Installation()
    try:
        for position, index in enumerate(cycle):
            after_me = cycle[(position + 1) % count]
            installation.add(index, {"before": [f"acme-p{after_me}"]})
        pre, post = installation.run()
        assert sorted(pre) == sorted(f"acme-p{i}" for i in range(count))  # each once
        assert post == pre
        errors = [r.getMessage() for r in caplog.records
                  if r.levelno >= logging.ERROR and "order conflict" in r.getMessage()]
        assert len(errors) == 1  # one per cycle, whichever hooks it is on
        for index in range(count):
            assert f"acme-p{index}:acme_p{index}" in errors[0]
    finally:
        nova_hookspec.configure()
        nova_hookspec.reset()
        installation.close()


def test_operator_order_wins_over_a_declaration_with_one_error(
    site: Site, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    site.add_dist("acme-ldap", {"nova_hookspec": ["ldap = acme_ldap"]}, {
        "acme_ldap": PLUGIN.format(marks={"after": "acme-dns"}, name="ldap")})
    site.add_dist("acme-dns", {"nova_hookspec": ["dns = acme_dns"]}, {
        "acme_dns": PLUGIN.format(marks={}, name="dns")})
    monkeypatch.setenv("NOVA_HOOKSPEC_ORDER", "acme-ldap, acme-dns")
    delete("mgr", "ctx", "i-1", [])
    assert site.events == ["ldap", "dns", "post ldap", "post dns"]
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "a constraint (declared by the plugin) would close the cycle" in errors[0]
    assert "acme-ldap:acme_ldap" in errors[0]
    assert "acme-dns:acme_dns" in errors[0]


def test_per_point_order_wins_over_the_order_for_all_points(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("a", "b"):
        site.add_dist(f"acme-{name}", {"nova_hookspec": [f"{name} = acme_{name}"]},
                      {f"acme_{name}": PLUGIN.format(marks={}, name=name)})
    monkeypatch.setenv("NOVA_HOOKSPEC_ORDER", "acme-a, acme-b, delete_instance=acme-b, "
                                              "delete_instance = acme-a")
    delete("mgr", "ctx", "i-1", [])
    assert site.events == ["b", "a", "post b", "post a"]


def test_list_says_which_rule_placed_each_plugin(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    site.add_dist("acme-a", {"nova_hookspec": ["a = acme_a"]},
                  {"acme_a": PLUGIN.format(marks={"tryfirst": True}, name="a")})
    site.add_dist("acme-b", {"nova_hookspec": ["b = acme_b"]},
                  {"acme_b": PLUGIN.format(marks={}, name="b")})
    site.add_dist("acme-c", {"nova_hookspec": ["c = acme_c"]},
                  {"acme_c": PLUGIN.format(marks={"before": "acme-b"}, name="c")})
    monkeypatch.setenv("NOVA_HOOKSPEC_ORDER", "acme-b, acme-a")
    [entry] = [e for e in _listing.listing(nova_hookspec.get_plugin_manager())
               if e["hook"] == "delete_instance_pre"]
    rules = {step["distribution"]: step["rule"] for step in entry["order"]}
    assert [step["distribution"] for step in entry["order"]] == ["acme-c", "acme-b", "acme-a"]
    assert rules["acme-a"] == "operator order"
    assert rules["acme-b"] == "operator order"
    assert rules["acme-c"] == "declared by the plugin"


def test_hookimpl_before_and_after_in_code() -> None:
    events: list[str] = []

    class Audit:
        @hookimpl(after="ldap")
        def delete_instance_pre(self) -> None:
            events.append("audit")

    class Ldap:
        @hookimpl
        def delete_instance_pre(self) -> None:
            events.append("ldap")

    pm = nova_hookspec.get_plugin_manager()
    pm.register(Audit(), "audit")
    pm.register(Ldap(), "ldap")  # newest first by pluggy's rule: ldap would run first anyway
    pm.unregister(name="audit")
    pm.register(Audit(), "audit")  # now audit is newest, yet runs after ldap
    delete("mgr", "ctx", "i-1", [])
    assert events == ["ldap", "audit"]


def _cli(site: Site, *args: str, env: dict[str, str]) -> Any:
    import os
    import subprocess

    environ = {**{k: v for k, v in os.environ.items() if not k.startswith("NOVA_HOOKSPEC_")},
               "PYTHONPATH": os.pathsep.join([str(site.root), *sys.path]), **env}
    return subprocess.run([sys.executable, "-m", "nova_hookspec", *args], capture_output=True,
                          text=True, env=environ, timeout=120, check=False)


def test_list_names_the_operators_placement_for_one_hook_point(
        site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    """A mutant that read the placement for all points only (a survivor of the
    mutation run): ``list`` names the operator's tryfirst on the hook point it names."""
    for name in ("a", "b"):
        site.add_dist(f"acme-{name}", {"nova_hookspec": [f"{name} = acme_{name}"]},
                      {f"acme_{name}": PLUGIN.format(marks={}, name=name)})
    done = _cli(site, "list", env={"NOVA_HOOKSPEC_TRYFIRST": "delete_instance=acme-b"})
    assert done.returncode == 0, done.stderr
    delete_point = done.stdout.split("delete_instance  (")[1].split("instance_network_info")[0]
    for phase in ("delete_instance_pre", "delete_instance_post"):
        assert ("1. acme-b:acme_b  [typed, acme-b 1.0; tryfirst (operator), discovery order"
                in delete_point.split(phase)[1]), phase
    elsewhere = _cli(site, "list", env={"NOVA_HOOKSPEC_TRYFIRST": "create_instance=acme-b"})
    assert elsewhere.returncode == 0, elsewhere.stderr
    assert "(operator)" not in elsewhere.stdout
    delete_point = elsewhere.stdout.split("delete_instance  (")[1]
    assert delete_point.index("1. acme-a:acme_a") < delete_point.index("2. acme-b:acme_b")
    # The same in this process, where mutmut sees which tests reach the rules.
    monkeypatch.setenv("NOVA_HOOKSPEC_TRYFIRST", "delete_instance=acme-b")
    [entry] = [e for e in _listing.listing(nova_hookspec.get_plugin_manager())
               if e["hook"] == "delete_instance_post"]
    assert [(step["distribution"], step["rule"]) for step in entry["order"]] == [
        ("acme-b", "tryfirst (operator), discovery order #2"),
        ("acme-a", "discovery order #1")]


def test_two_cycles_are_two_errors(site: Site, caplog: pytest.LogCaptureFixture) -> None:
    """A mutant that remembered one conflict for all (a survivor of the mutation run):
    each cycle is reported, once."""
    for name, before in (("a", "acme-b"), ("b", "acme-a"), ("c", "acme-d"), ("d", "acme-c")):
        site.add_dist(f"acme-{name}", {"nova_hookspec": [f"{name} = acme_{name}"]},
                      {f"acme_{name}": PLUGIN.format(marks={"before": before}, name=name)})
    done = _cli(site, "list", env={})
    errors = [line for line in done.stderr.splitlines() if "order conflict" in line]
    assert len(errors) == 2, done.stderr
    assert sum("acme-a:acme_a" in e and "acme-b:acme_b" in e for e in errors) == 1
    assert sum("acme-c:acme_c" in e and "acme-d:acme_d" in e for e in errors) == 1
    # The same in this process, where mutmut sees which tests reach the report.
    delete("mgr", "ctx", "i-1", [])
    logged = [r.getMessage() for r in caplog.records if "order conflict" in r.getMessage()]
    assert len(logged) == 2, logged
    assert sorted(site.events[:4]) == ["a", "b", "c", "d"]  # every plugin still runs once

"""Every kind of plugin fault: the hooked call's outcome is as without the plugin."""

from __future__ import annotations

import logging

import pytest
from conftest import Site

import nova_hookspec
from nova_hookspec import add_hook


@add_hook("delete_instance")
def delete(self, context, instance, bdms):
    if instance == "explode":
        raise LookupError("nova failed")
    return f"deleted {instance}"


WRAPPERS = {
    "raises-before-yield": """
    raise ValueError("before")
    yield
""",
    "raises-after-yield": """
    result = yield
    raise ValueError("after")
""",
    "never-yields": """
    if False:
        yield
    return "mine"
""",
    "yields-twice": """
    result = yield
    yield
    return "mine"
""",
}


def wrapper_dist(site: Site, fault: str) -> None:
    body = WRAPPERS[fault]
    site.add_dist("acme-faulty", {"nova_hookspec": ["faulty = acme_faulty:PLUGIN"]}, {
        "acme_faulty": "from nova_hookspec import hookimpl\n\nclass Faulty:\n"
                       "    @hookimpl(wrapper=True)\n    def delete_instance(self):\n"
                       + "\n".join("    " + line for line in body.strip("\n").split("\n"))
                       + "\n\nPLUGIN = Faulty()\n"})


def failures(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("fault", sorted(WRAPPERS))
def test_faulty_wrapper_on_a_successful_call(
    site: Site, caplog: pytest.LogCaptureFixture, fault: str
) -> None:
    wrapper_dist(site, fault)
    assert delete("mgr", "ctx", "i-1", []) == "deleted i-1"
    [message] = failures(caplog)
    assert "plugin 'acme-faulty:acme_faulty:PLUGIN'" in message
    assert "hook 'delete_instance' (call phase)" in message


@pytest.mark.parametrize("fault", sorted(WRAPPERS))
def test_faulty_wrapper_on_a_failing_call(
    site: Site, caplog: pytest.LogCaptureFixture, fault: str
) -> None:
    wrapper_dist(site, fault)
    with pytest.raises(LookupError, match="nova failed"):
        delete("mgr", "ctx", "explode", [])
    messages = failures(caplog)
    if fault in ("raises-after-yield", "yields-twice"):
        # The exception thrown in at its yield propagates before its faulty code
        # runs: re-raising what it was given is no failure.
        assert messages == []
    elif fault == "never-yields":
        assert messages
        assert "without yielding" in messages[0]
    else:
        assert "before its yield" in messages[0]


@pytest.mark.parametrize("phase", ["pre", "post"])
def test_typed_observer_exception(
    site: Site, caplog: pytest.LogCaptureFixture, phase: str
) -> None:
    site.add_dist("acme-obs", {"nova_hookspec": ["obs = acme_obs:PLUGIN"]}, {"acme_obs": f"""
from nova_hookspec import hookimpl
class Obs:
    @hookimpl
    def delete_instance_{phase}(self, instance):
        raise ZeroDivisionError(instance)
PLUGIN = Obs()
"""})
    assert delete("mgr", "ctx", "i-1", []) == "deleted i-1"
    [message] = failures(caplog)
    assert f"hook 'delete_instance_{phase}' ({phase} phase)" in message
    assert "ZeroDivisionError" in message


def test_non_exception_base_exceptions_are_not_swallowed(site: Site) -> None:
    site.add_dist("acme-exit", {"nova_hookspec": ["x = acme_exit:PLUGIN"]}, {"acme_exit": """
from nova_hookspec import hookimpl
class Exit:
    @hookimpl
    def delete_instance_pre(self):
        raise KeyboardInterrupt
PLUGIN = Exit()
"""})
    with pytest.raises(KeyboardInterrupt):
        delete("mgr", "ctx", "i-1", [])


def test_fatal_from_wrapper_before_yield_stops_the_call(site: Site) -> None:
    calls = []

    @add_hook("delete_instance")
    def tracked(self, context, instance, bdms):
        calls.append(instance)

    class Guard:
        @nova_hookspec.hookimpl(wrapper=True)
        def delete_instance(self, instance):
            raise nova_hookspec.FatalHookException(f"{instance} is protected")
            yield  # pragma: no cover

    nova_hookspec.get_plugin_manager().register(Guard())
    with pytest.raises(nova_hookspec.FatalHookException, match="protected"):
        tracked("mgr", "ctx", "i-9", [])
    assert calls == []

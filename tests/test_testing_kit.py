"""A plugin's test suite written only against the kit (``nova_hookspec.testing``).

Its fixtures come from the ``pytest11`` entry point, not from this project's
conftest. It runs in the default suite (stand-in Nova objects) and in every
``nox -s nova`` environment (real ``nova.objects``).
"""

from __future__ import annotations

from typing import ClassVar

import pytest

from nova_hookspec import FatalHookException, hookimpl
from nova_hookspec.testing import HookTester


class Inventory:
    """A typed observer: records created and deleted instances."""

    def __init__(self) -> None:
        self.hosts: dict[str, str] = {}

    @hookimpl
    def create_instance_post(self, result, context):
        instances, _reservation = result
        for instance in instances:
            self.hosts[instance.uuid] = f"{instance.hostname}@{context.project_id}"

    @hookimpl
    def delete_instance_post(self, instance):
        self.hosts.pop(instance.uuid, None)


class Tagger:
    """A wrapper that changes the result: tags every created instance."""

    @hookimpl(wrapper=True)
    def create_instance(self, metadata):
        instances, reservation = yield
        for instance in instances:
            instance.metadata["tagged"] = "yes"
        return instances, f"{reservation}-tagged"


class LegacyAudit:
    """A classic nova.hooks class."""

    seen: ClassVar[list[tuple[str, object]]] = []

    def pre(self, *args, **kwargs):
        LegacyAudit.seen.append(("pre", args[2].uuid))

    def post(self, rv, *args, **kwargs):
        LegacyAudit.seen.append(("post", rv))


class Broken:
    @hookimpl
    def delete_instance_pre(self):
        raise ConnectionError("ldap down")


class Refuse:
    @hookimpl
    def create_instance_pre(self, display_name):
        if display_name == "forbidden":
            raise FatalHookException("name refused")


def test_typed_observer_sees_real_shaped_objects(hook_tester: HookTester) -> None:
    inventory = Inventory()
    hook_tester.register(inventory, "inventory")
    run = hook_tester.run("create_instance")
    instances, _ = run.result
    assert run.ran("post") == ["inventory"]
    assert inventory.hosts == {instances[0].uuid: "web-1@demo-project"}
    hook_tester.run("delete_instance", hook_tester.sample("delete_instance")[1][0],
                    hook_tester.objects.context(), instances[0], [])
    assert inventory.hosts == {}


def test_wrapper_changes_the_result(hook_tester: HookTester) -> None:
    hook_tester.register(Tagger(), "tagger")
    run = hook_tester.run("create_instance")
    instances, reservation = run.result
    assert reservation.endswith("-tagged")
    assert instances[0].metadata["tagged"] == "yes"
    assert [(c.plugin, c.phase) for c in run.calls] == [("tagger", "call"), ("(nova)", "call")]


def test_legacy_class_runs_as_nova_ran_it(hook_tester: HookTester) -> None:
    LegacyAudit.seen.clear()
    hook_tester.register_legacy("build_instance", LegacyAudit, tryfirst=True)
    run = hook_tester.run("build_and_run_instance")
    instance = hook_tester.sample("build_and_run_instance")[1][2]
    assert run.result == "ACTIVE"
    assert [s[0] for s in LegacyAudit.seen] == ["pre", "post"]
    assert LegacyAudit.seen[1] == ("post", "ACTIVE")
    assert isinstance(LegacyAudit.seen[0][1], str)
    assert instance is not None


def test_a_failing_plugin_is_recorded_and_changes_nothing(hook_tester: HookTester) -> None:
    hook_tester.register(Broken(), "broken")
    run = hook_tester.run("delete_instance")
    assert run.exception is None
    assert [(f.plugin, f.phase, type(f.exception)) for f in run.failures] == [
        ("broken", "pre", ConnectionError)]


def test_a_fatal_refusal_stops_the_call(hook_tester: HookTester) -> None:
    hook_tester.register(Refuse(), "refuse")
    _function, args, kwargs = hook_tester.sample("create_instance")
    run = hook_tester.run("create_instance", *args, **{**kwargs, "display_name": "forbidden"})
    assert isinstance(run.exception, FatalHookException)
    assert run.ran() == ["refuse"]  # Nova's callable never ran
    assert [c.plugin for c in run.calls] == ["refuse"]


def test_a_typo_is_refused_as_in_production(hook_tester: HookTester) -> None:
    class Typo:
        @hookimpl
        def delete_instance_pre(self, instanse):
            pass

    from nova_hookspec import PluginValidationError

    with pytest.raises(PluginValidationError, match="did you mean 'instance'"):
        hook_tester.register(Typo(), "typo")


def test_nova_objects_have_novas_attribute_names(nova_objects) -> None:  # type: ignore[no-untyped-def]
    instance = nova_objects.instance("web-9", metadata={"a": "b"})
    flavor = nova_objects.flavor("m1.large", memory_mb=8192)
    context = nova_objects.context(project_id="p-9")
    info = nova_objects.network_info("198.51.100.7")
    assert (instance.hostname, instance.metadata["a"], instance["hostname"]) == (
        "web-9", "b", "web-9")
    assert (flavor.name, flavor.memory_mb) == ("m1.large", 8192)
    assert context.project_id == "p-9"
    assert [ip["address"] for ip in info.fixed_ips()] == ["198.51.100.7"]

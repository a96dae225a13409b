"""The policy plugin under nova_hookspec's kit."""

from __future__ import annotations

import pytest
from nova_hookspec_policy import Policy

from nova_hookspec import FatalHookException
from nova_hookspec.testing import HookTester


@pytest.fixture
def policy(hook_tester: HookTester) -> HookTester:
    hook_tester.register(Policy(), "policy")
    return hook_tester


def create(tester: HookTester, display_name: str):  # type: ignore[no-untyped-def]
    _function, args, kwargs = tester.sample("create_instance")
    return tester.run("create_instance", *args, **{**kwargs, "display_name": display_name})


def test_a_bad_name_is_refused_before_nova_runs(policy: HookTester) -> None:
    run = create(policy, "Web_1")
    assert isinstance(run.exception, FatalHookException)
    assert [c.plugin for c in run.calls] == ["policy"]  # Nova's callable never ran


def test_the_wrapper_tags_the_created_instances(
    policy: HookTester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOVA_HOOKSPEC_POLICY_METADATA", "owner=blue")
    run = create(policy, "web-1")
    instances, _ = run.result
    assert instances[0].metadata["owner"] == "blue"
    assert run.failures == []

"""The policy plugin, found through its real entry point."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import nova_hookspec
from nova_hookspec import FatalHookException, add_hook


class API:
    calls = 0

    @add_hook("create_instance")
    def create(self, context, flavor, image_href, display_name=None, metadata=None):
        API.calls += 1
        return [SimpleNamespace(hostname=display_name, metadata=dict(metadata or {}))], "r-1"


@pytest.fixture(autouse=True)
def only_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOVA_HOOKSPEC_PLUGINS", "nova-hookspec-policy")
    nova_hookspec.reset()


def test_refuses_bad_names_before_nova_runs() -> None:
    before = API.calls
    with pytest.raises(FatalHookException, match="does not match the policy"):
        API().create("ctx", "m1", "img", display_name="Web_1")
    assert API.calls == before


def test_tags_returned_instances(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOVA_HOOKSPEC_POLICY_METADATA", "owner=blue, managed-by=acme")
    [instance], _ = API().create("ctx", "m1", "img", display_name="web-1",
                                 metadata={"team": "x"})
    assert instance.metadata == {"team": "x", "owner": "blue", "managed-by": "acme"}


def test_pattern_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOVA_HOOKSPEC_POLICY_NAME_PATTERN", r"^prod-")
    with pytest.raises(FatalHookException):
        API().create("ctx", "m1", "img", display_name="web-1")
    assert API().create("ctx", "m1", "img", display_name="prod-web")[1] == "r-1"

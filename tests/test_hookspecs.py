"""The 12 typed hookspecs: present, typed and documented."""

from __future__ import annotations

import inspect
import re

import pytest

import nova_hookspec
from nova_hookspec import hookspecs

POINTS = ["create_instance", "build_and_run_instance", "delete_instance", "instance_network_info"]
HOOKS = [name for point in POINTS for name in (f"{point}_pre", point, f"{point}_post")]


def test_manager_has_the_twelve_typed_hookspecs() -> None:
    pm = nova_hookspec.get_plugin_manager()
    with_spec = sorted(
        name
        for name, caller in vars(pm.hook).items()
        if getattr(caller, "spec", None) and caller.spec.namespace is hookspecs
    )
    assert with_spec == sorted([*HOOKS, "known_instances"])  # and reconcile's listing hook


@pytest.mark.parametrize("name", HOOKS)
def test_spec_is_annotated_and_documented(name: str) -> None:
    function = getattr(hookspecs, name)
    signature = inspect.signature(function)
    params = list(signature.parameters)
    assert params[-2:] == ["args", "kwargs"]
    if name.endswith("_post"):
        assert params[0] == "result"
    for param in signature.parameters.values():
        assert param.annotation is not inspect.Parameter.empty, f"{name}({param.name})"
        assert param.default is inspect.Parameter.empty, "pluggy 1.6 cannot pass defaulted spec args"
    assert signature.return_annotation is not inspect.Signature.empty
    doc = inspect.getdoc(function) or ""
    documented = re.findall(r"^:param (\w+):", doc, flags=re.MULTILINE)
    assert documented == params, f"{name}: docstring params differ from the signature"
    assert "Example::" in doc


@pytest.mark.parametrize("point", POINTS)
def test_call_hook_is_firstresult_and_observers_are_not(point: str) -> None:
    pm = nova_hookspec.get_plugin_manager()
    assert getattr(pm.hook, point).spec.opts["firstresult"] is True
    assert getattr(pm.hook, f"{point}_pre").spec.opts["firstresult"] is False
    assert getattr(pm.hook, f"{point}_post").spec.opts["firstresult"] is False


def test_hooked_object_has_a_meaningful_name() -> None:
    first = {p: next(iter(inspect.signature(getattr(hookspecs, p)).parameters)) for p in POINTS}
    assert first == {
        "create_instance": "compute_api",
        "build_and_run_instance": "compute_manager",
        "delete_instance": "compute_manager",
        "instance_network_info": "network_api",
    }

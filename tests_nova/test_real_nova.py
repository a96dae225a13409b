"""The hook points in a real Nova (21.2.4: nova/hooks.py still there; 34.0.0: gone).

Two real Nova code paths run without a cloud:
``update_instance_cache_with_nw_info`` returns early for a deleted instance,
and ``API.create`` with ``max_count=2`` and a requested network that has both
a network id and an address raises ``InvalidFixedIpAndMaxCountRequest``
before touching a database.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from typing import Any

import pytest
from conftest import Site

import nova_hookspec
from nova_hookspec import hookimpl
from nova_hookspec._call.binding import ArgumentPlan
from nova_hookspec._seams.metadata import metadata
from nova_hookspec._spec import points as _points

from nova import exception, objects  # isort: skip
from nova.compute import api as compute_api  # isort: skip
from nova.compute import manager as compute_manager  # isort: skip
from nova.network import neutron  # isort: skip

objects.register_all()
NOVA = metadata().version("nova")
OLD_NOVA = int(NOVA.split(".")[0]) <= 21
TARGETS = {
    "create_instance": (compute_api.API, "create"),
    "build_and_run_instance": (compute_manager.ComputeManager, "_do_build_and_run_instance"),
    "delete_instance": (compute_manager.ComputeManager, "_delete_instance"),
    "instance_network_info": (neutron, "update_instance_cache_with_nw_info"),
}


def inner(point: str) -> Any:
    """The Nova callable of ``point`` without Nova <= 21's own hook layer."""
    owner, attr = TARGETS[point]
    function = vars(owner)[attr]
    return function.__wrapped__ if OLD_NOVA and hasattr(function, "__hook_name__") else function


CREATE_PARAMS = list(inspect.signature(inner("create_instance")).parameters)


def originals() -> dict[str, Any]:
    return {point: vars(owner)[attr] for point, (owner, attr) in TARGETS.items()}


def deleted_instance() -> Any:
    return objects.Instance(uuid="9b5e0a77-8f55-4c3c-9d6e-2f1f6c7b5a01", deleted=True)


def bad_request() -> Any:
    return objects.NetworkRequestList(
        objects=[objects.NetworkRequest(network_id="net-1", address="10.0.0.5")]
    )


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    @hookimpl
    def instance_network_info_pre(self, network_api, context, instance, nw_info):
        self.calls.append(("net-pre", network_api, context, instance, nw_info))

    @hookimpl
    def instance_network_info_post(self, result, instance):
        self.calls.append(("net-post", result, instance))

    @hookimpl
    def create_instance_pre(self, compute_api, context, flavor, image_href, max_count,
                            requested_networks):
        self.calls.append(("create-pre", compute_api, flavor, max_count, requested_networks))

    @hookimpl(wrapper=True)
    def create_instance(self):
        try:
            return (yield)
        except exception.InvalidFixedIpAndMaxCountRequest as exc:
            self.calls.append(("create-wrapper-saw", exc))
            raise

    @hookimpl
    def create_instance_post(self, result):
        self.calls.append(("create-post", result))


def test_attach_reports_all_four_points_and_detach_restores_originals() -> None:
    before = originals()
    attached = nova_hookspec.attach_nova(strict=True)
    assert sorted(attached) == sorted(TARGETS)
    assert all(a.unwrapped_nova_hook is OLD_NOVA for a in attached.values())
    now = originals()
    assert all(now[p] is not before[p] for p in TARGETS)
    assert nova_hookspec.attach_nova() == attached  # idempotent
    assert originals() == now
    nova_hookspec.detach_nova()
    after = originals()
    assert all(after[p] is before[p] for p in TARGETS)


def test_typed_observers_see_the_real_network_info_call() -> None:
    nova_hookspec.attach_nova(strict=True)
    rec = Recorder()
    nova_hookspec.get_plugin_manager().register(rec)
    instance = deleted_instance()
    impl = object()
    assert neutron.update_instance_cache_with_nw_info(impl, "ctx", instance) is None
    assert rec.calls == [("net-pre", impl, "ctx", instance, None), ("net-post", None, instance)]


def test_wrapper_sees_the_real_exception_and_caller_gets_it_unchanged() -> None:
    nova_hookspec.attach_nova(strict=True)
    rec = Recorder()
    nova_hookspec.get_plugin_manager().register(rec)
    api = compute_api.API.__new__(compute_api.API)
    requested = bad_request()
    flavor = objects.Flavor(name="m1.small")
    # Nova 21 calls it instance_type; plugins get flavor on every release.
    flavor_kw = {"instance_type" if "instance_type" in CREATE_PARAMS else "flavor": flavor}
    with pytest.raises(exception.InvalidFixedIpAndMaxCountRequest) as caught:
        api.create("ctx", image_href="img", max_count=2, requested_networks=requested,
                   **flavor_kw)
    assert rec.calls == [
        ("create-pre", api, flavor, 2, requested),
        ("create-wrapper-saw", caught.value),
    ]  # and no post phase after the raise


LEGACY = """
import hooklog

class Counting:
    def pre(self, *args, **kwargs):
        hooklog.EVENTS.append(("pre", args[2].uuid))

    def post(self, rv, *args, **kwargs):
        hooklog.EVENTS.append(("post", rv))
"""


def test_legacy_class_from_a_real_entry_point_runs_once_per_call(site: Site) -> None:
    site.add_dist("acme-legacy", {"nova.hooks": [
        "instance_network_info = acme_legacy:Counting"]}, {"acme_legacy": LEGACY})
    nova_hookspec.attach_nova(strict=True)
    instance = deleted_instance()
    for _ in range(3):
        neutron.update_instance_cache_with_nw_info(object(), "ctx", instance)
    assert site.events == [("pre", instance.uuid), ("post", None)] * 3


def test_old_nova_hooks_module_routes_through_nova_hookspec(site: Site) -> None:
    if not OLD_NOVA:  # Nova >= 22 removed the module: attaching does not need it
        with pytest.raises(ImportError):
            import nova.hooks  # noqa: F401
        assert len(nova_hookspec.attach_nova(strict=True)) == 4
        return
    from nova import hooks  # type: ignore[attr-defined]

    site.add_dist("acme-legacy", {"nova.hooks": ["resize_hook = acme_legacy:Counting"]},
                  {"acme_legacy": LEGACY})
    nova_hookspec.attach_nova(strict=True)

    @hooks.add_hook("resize_hook")
    def resize(self, context, instance):
        return "resized"

    class Fatal:
        @hookimpl
        def resize_hook_pre(self):
            raise hooks.FatalHookException("nova's own class counts as fatal")

    assert resize("mgr", "ctx", deleted_instance()) == "resized"
    assert [e[0] for e in site.events] == ["pre", "post"]
    nova_hookspec.get_plugin_manager().register(Fatal())
    with pytest.raises(hooks.FatalHookException):
        resize("mgr", "ctx", deleted_instance())
    nova_hookspec.detach_nova()
    assert hooks.add_hook.__module__ == "nova.hooks"


def test_launcher_runs_a_console_script_with_hook_points_attached(site: Site) -> None:
    site.add_dist("acme-tool", {"console_scripts": ["acme-tool = acme_tool:main"]}, {
        "acme_tool": """
import sys

def main():
    from nova.compute import api
    import nova_hookspec
    # Points whose module Nova has not imported yet are attached when it does.
    attached = sorted([*nova_hookspec._nova.attach.attached(), *nova_hookspec._nova.attach.pending()])
    hooked = getattr(api.API.create, "__nova_hookspec__", None) is not None
    print("argv", sys.argv[1:], "attached", attached, "hooked", hooked)
    return 3
"""})
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site.root), *sys.path])}
    done = subprocess.run(
        [sys.executable, "-m", "nova_hookspec", "run", "--", "acme-tool", "--config-file",
         "/etc/nova/nova.conf"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )
    assert done.returncode == 3, done.stderr
    assert "argv ['--config-file', '/etc/nova/nova.conf']" in done.stdout
    assert ("attached ['build_and_run_instance', 'create_instance', 'delete_instance', "
            "'instance_network_info'] hooked True") in done.stdout


@pytest.mark.parametrize("point", sorted(TARGETS))
def test_every_parameter_of_this_release_maps_onto_the_spec(point: str) -> None:
    """The mapping, worked out from this release's own code: every parameter of
    the Nova callable reaches typed plugins under a spec name."""
    hook_point = _points.lookup(point)
    assert hook_point is not None
    plan = ArgumentPlan(hook_point, inner(point))
    params = list(inspect.signature(inner(point)).parameters)
    unmapped = [name for name, spec in zip(params, plan.positional) if spec is None]
    assert unmapped == [], f"Nova {NOVA} {point}: no spec argument for {unmapped}"
    assert len(plan.positional) == len(params)
    assert plan.positional[0] == hook_point.hooked_object


BUILD_LEGACY = """
import hooklog

class Audit:
    def pre(self, *args, **kwargs):
        hooklog.EVENTS.append(("pre", type(args[0]).__name__, args[2].uuid))

    def post(self, rv, *args, **kwargs):
        hooklog.EVENTS.append(("post", rv))
"""


class ComputeRecorder:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    @hookimpl
    def build_and_run_instance_pre(self, compute_manager, context, instance, node, accel_uuids):
        self.calls.append(("build-pre", compute_manager, context, instance, node, accel_uuids))

    @hookimpl(wrapper=True)
    def build_and_run_instance(self):
        try:
            return (yield)
        except Exception as exc:
            self.calls.append(("build-wrapper-saw", exc))
            raise

    @hookimpl
    def delete_instance_pre(self, compute_manager, context, instance, bdms):
        self.calls.append(("delete-pre", compute_manager, context, instance, bdms))

    @hookimpl(specname="delete_instance", wrapper=True)
    def around_delete(self):
        try:
            return (yield)
        except Exception as exc:
            self.calls.append(("delete-wrapper-saw", exc))
            raise


def test_typed_and_legacy_plugins_on_the_compute_manager_targets(site: Site) -> None:
    """A bare ComputeManager fails inside Nova's code: the plugins see the real
    arguments first, the wrapper the real exception, the caller the same object."""
    site.add_dist("acme-audit", {"nova.hooks": [
        "build_instance = acme_audit:Audit", "delete_instance = acme_audit:Audit"]},
        {"acme_audit": BUILD_LEGACY})
    nova_hookspec.attach_nova(strict=True)
    rec = ComputeRecorder()
    nova_hookspec.get_plugin_manager().register(rec)
    manager = compute_manager.ComputeManager.__new__(compute_manager.ComputeManager)
    instance = objects.Instance(uuid="5f0b8c2e-3a55-4f7e-9a43-0d7f1a2b3c4d")
    with pytest.raises(Exception) as built:  # noqa: PT011 - whatever this release raises
        manager._do_build_and_run_instance(
            "ctx", instance, {}, None, {}, "pw", [], None, [], None, node="node-1")
    with pytest.raises(Exception) as deleted:  # noqa: PT011
        manager._delete_instance("ctx", instance, "bdms")
    assert rec.calls == [
        ("build-pre", manager, "ctx", instance, "node-1", None),
        ("build-wrapper-saw", built.value),
        ("delete-pre", manager, "ctx", instance, "bdms"),
        ("delete-wrapper-saw", deleted.value),
    ]
    assert site.events == [("pre", "ComputeManager", instance.uuid)] * 2  # no post after a raise


_ORDER_SCRIPT = r"""
import json, sys
import nova_hookspec

order = sys.argv[1]
if order == "none":
    import nova.compute.api, nova.compute.manager, nova.network.neutron
elif order == "imported-first":
    import nova.compute.api, nova.compute.manager, nova.network.neutron
    nova_hookspec.attach_nova(strict=True)
else:
    nova_hookspec.attach_nova()
    first, second = (("nova.compute.manager", "nova.compute.api") if order == "manager-first"
                     else ("nova.compute.api", "nova.compute.manager"))
    __import__(first)
    __import__(second)
    import nova.network.neutron
from nova.compute import api, manager
from nova.network import neutron

def targets():
    return {"create_instance": api.API.create,
            "build_and_run_instance": manager.ComputeManager._do_build_and_run_instance,
            "delete_instance": manager.ComputeManager._delete_instance,
            "instance_network_info": neutron.update_instance_cache_with_nw_info}

if order != "none":
    from nova_hookspec._nova import attach
    assert sorted(attach.attached()) == sorted(targets()), attach.attached()
    assert all(hasattr(t, "__nova_hookspec__") for t in targets().values())
    nova_hookspec.detach_nova()
def shape(function):
    inner = getattr(function, "__wrapped__", None)
    return {"ours": hasattr(function, "__nova_hookspec__"),
            "file": function.__code__.co_filename.rsplit("nova/", 1)[-1],
            "wraps": inner.__code__.co_filename.rsplit("nova/", 1)[-1] if inner else None,
            "hook_name": getattr(function, "__hook_name__", None)}
print(json.dumps({name: shape(function) for name, function in targets().items()}))
"""


@pytest.mark.parametrize("order", ["imported-first", "manager-first", "api-first"])
def test_detach_restores_novas_own_functions_in_every_order(order: str) -> None:
    """Attached before or after Nova imports each module, detach leaves Nova's
    callables as a process that never attached has them (on Nova 21, Nova's own
    ``nova.hooks`` decoration; issue 30 item 9)."""
    def run(which: str) -> dict[str, Any]:
        done = subprocess.run([sys.executable, "-c", _ORDER_SCRIPT, which],
                              capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stderr
        return dict(json.loads(done.stdout.splitlines()[-1]))

    never_attached = run("none")
    assert run(order) == never_attached
    assert not any(shape["ours"] for shape in never_attached.values())

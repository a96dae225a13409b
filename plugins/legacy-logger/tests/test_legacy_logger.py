"""The classic classes run through nova_hookspec's legacy adapter, found by entry point."""

import logging
from types import SimpleNamespace

import pytest

import nova_hookspec
from nova_hookspec import add_hook


class ComputeManager:
    @add_hook("build_instance")  # Nova <= 21's own name for the point
    def _do_build_and_run_instance(self, context, instance, image, request_spec,
                                   filter_properties, admin_password, injected_files,
                                   requested_networks, security_groups, block_device_mapping,
                                   node=None, limits=None, host_list=None, accel_uuids=None):
        return "built"

    @add_hook("delete_instance")
    def _delete_instance(self, context, instance, bdms):
        return None


@pytest.fixture(autouse=True)
def only_this_plugin(monkeypatch):
    monkeypatch.setenv("NOVA_HOOKSPEC_PLUGINS", "nova-hookspec-legacy-logger")
    nova_hookspec.reset()


def test_entry_points_are_discovered_as_legacy_plugins():
    pm = nova_hookspec.get_plugin_manager()
    pm.load_all()  # legacy classes load when their hook point is first called
    infos = pm.plugin_infos.values()
    mine = {i.entry_point for i in infos if i.distribution == "nova-hookspec-legacy-logger"}
    assert mine == {
        "create_instance = nova_hookspec_legacy_logger:CreateInstance",
        "build_instance = nova_hookspec_legacy_logger:BuildInstance",
        "delete_instance = nova_hookspec_legacy_logger:DeleteInstance",
        "instance_network_info = nova_hookspec_legacy_logger:NetworkInfo",
    }
    assert {i.kind for i in infos if i.distribution == "nova-hookspec-legacy-logger"} == {"legacy"}


def test_logs_before_and_after_build_and_delete(caplog):
    caplog.set_level(logging.INFO, logger="nova_hookspec_legacy_logger")
    manager = ComputeManager()
    instance = SimpleNamespace(hostname="web-1")
    assert manager._do_build_and_run_instance("ctx", instance, {}, None, {}, None, [], None,
                                              [], None, node="node-1") == "built"
    manager._delete_instance("ctx", instance, [])
    lines = [r.getMessage() for r in caplog.records if r.name == "nova_hookspec_legacy_logger"]
    assert lines == [
        "[PRE] build_instance web-1 on node node-1",
        "[POST] build_instance web-1: built",
        "[PRE] delete_instance web-1",
        "[POST] delete_instance web-1",
    ]

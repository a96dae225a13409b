"""Arguments of Nova 21.2.4 and 34.0.0 callables mapped onto the typed specs.

The stand-in functions below carry the exact signatures of the Nova releases
(read off the wheels): the mapping is worked out from the signature alone.
"""

from __future__ import annotations

from typing import Any

import pytest

import nova_hookspec
from nova_hookspec import add_hook


def create_21(self, context, instance_type, image_href, kernel_id=None, ramdisk_id=None,
              min_count=None, max_count=None, display_name=None, display_description=None,
              key_name=None, key_data=None, security_groups=None, availability_zone=None,
              forced_host=None, forced_node=None, user_data=None, metadata=None,
              injected_files=None, admin_password=None, block_device_mapping=None,
              access_ip_v4=None, access_ip_v6=None, requested_networks=None, config_drive=None,
              auto_disk_config=None, scheduler_hints=None, legacy_bdm=True,
              shutdown_terminate=False, check_server_group_quota=False, tags=None,
              supports_multiattach=False, trusted_certs=None,
              supports_port_resource_request=False, requested_host=None,
              requested_hypervisor_hostname=None):
    return [], "r-21"


def create_34(self, context, flavor, image_href, kernel_id=None, ramdisk_id=None,
              min_count=None, max_count=None, display_name=None, display_description=None,
              hostname=None, key_name=None, key_data=None, security_groups=None,
              availability_zone=None, forced_host=None, forced_node=None, user_data=None,
              metadata=None, injected_files=None, admin_password=None,
              block_device_mapping=None, access_ip_v4=None, access_ip_v6=None,
              requested_networks=None, config_drive=None, auto_disk_config=None,
              scheduler_hints=None, legacy_bdm=True, check_server_group_quota=False, tags=None,
              supports_multiattach=False, trusted_certs=None,
              supports_port_resource_request=False, requested_host=None,
              requested_hypervisor_hostname=None):
    return [], "r-34"


def build(self, context, instance, image, request_spec, filter_properties, admin_password,
          injected_files, requested_networks, security_groups, block_device_mapping,
          node=None, limits=None, host_list=None, accel_uuids=None):
    return "built"


class Recorder:
    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    @nova_hookspec.hookimpl
    def create_instance_pre(self, compute_api, context, flavor, hostname, max_count,
                            legacy_bdm, shutdown_terminate, metadata, args, kwargs):
        self.seen.append(dict(compute_api=compute_api, context=context, flavor=flavor,
                              hostname=hostname, max_count=max_count, legacy_bdm=legacy_bdm,
                              shutdown_terminate=shutdown_terminate, metadata=metadata,
                              args=args, kwargs=kwargs))

    @nova_hookspec.hookimpl
    def build_and_run_instance_post(self, result, compute_manager, instance, node, accel_uuids):
        self.seen.append(dict(result=result, compute_manager=compute_manager,
                              instance=instance, node=node, accel_uuids=accel_uuids))


@pytest.fixture
def recorder() -> Recorder:
    rec = Recorder()
    nova_hookspec.get_plugin_manager().register(rec, "recorder")
    return rec


@pytest.mark.parametrize("function", [create_21, create_34], ids=["nova-21", "nova-34"])
def test_flavor_arrives_as_flavor_positionally(recorder: Recorder, function: Any) -> None:
    hooked = add_hook("create_instance")(function)
    hooked("api", "ctx", "m1.small", "img", None, None, 1, 3)
    [seen] = recorder.seen
    assert seen["compute_api"] == "api"
    assert seen["context"] == "ctx"
    assert seen["flavor"] == "m1.small"
    assert seen["max_count"] == 3
    assert seen["args"] == ("api", "ctx", "m1.small", "img", None, None, 1, 3)
    assert seen["kwargs"] == {}


def test_instance_type_keyword_arrives_as_flavor(recorder: Recorder) -> None:
    hooked = add_hook("create_instance")(create_21)
    hooked("api", context="ctx", instance_type="m1.tiny", image_href="img")
    [seen] = recorder.seen
    assert seen["flavor"] == "m1.tiny"
    assert seen["kwargs"] == {"context": "ctx", "instance_type": "m1.tiny", "image_href": "img"}


@pytest.mark.parametrize(
    ("function", "shutdown_terminate"),
    [(create_21, False), (create_34, False)],
    ids=["nova-21", "nova-34"],
)
def test_missing_arguments_take_defaults(
    recorder: Recorder, function: Any, shutdown_terminate: bool
) -> None:
    hooked = add_hook("create_instance")(function)
    hooked("api", "ctx", "m1", "img")
    [seen] = recorder.seen
    assert seen["hostname"] is None  # absent on 21: the spec default
    assert seen["legacy_bdm"] is True  # the callable's own default
    assert seen["shutdown_terminate"] is shutdown_terminate  # absent on 34: the spec default
    assert seen["metadata"] is None
    assert seen["max_count"] is None


def test_callable_default_wins_over_spec_default(recorder: Recorder) -> None:
    def create(self, context, flavor, image_href, legacy_bdm=False, metadata=None):
        return [], "r"

    add_hook("create_instance")(create)("api", "ctx", "m1", "img")
    assert recorder.seen[0]["legacy_bdm"] is False


def test_build_and_run_maps_positional_and_keyword(recorder: Recorder) -> None:
    hooked = add_hook("build_instance")(build)  # Nova <= 21's own name for the point
    assert hooked("mgr", "ctx", "inst", {}, None, {}, None, [], None, [], None,
                  node="node-1") == "built"
    [seen] = recorder.seen
    assert seen == dict(result="built", compute_manager="mgr", instance="inst",
                        node="node-1", accel_uuids=None)


def test_parameter_the_spec_lacks_is_only_in_args_and_kwargs(recorder: Recorder) -> None:
    def create(self, context, flavor, image_href, future_option=None, **extra):
        return [], "r"

    hooked = add_hook("create_instance")(create)
    hooked("api", "ctx", "m1", "img", "x", hostname="h", instance_type_unknown=1)
    [seen] = recorder.seen
    assert seen["hostname"] == "h"  # reached through **extra by its spec name
    assert seen["args"][-1] == "x"
    assert seen["kwargs"] == {"hostname": "h", "instance_type_unknown": 1}

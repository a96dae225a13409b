"""A typed view of the hook relay, for code that calls hooks directly.

Generated from :mod:`nova_hookspec.hookspecs` by ``tools/gen_relay.py``; do
not edit (``tests/test_typing.py`` fails when it and the specs disagree).

    from nova_hookspec.relay import typed_hook

    hook = typed_hook()
    hook.delete_instance_pre(instance=inst)      # every other argument defaults
    hook.delete_instance_pre(compute_manager=mgr, context=ctx, instance=inst,
                             bdms=bdms, args=(mgr, ctx, inst, bdms), kwargs={})

Every argument may be left out: it takes its documented default (``args``
``()``, ``kwargs`` ``{}``, ``result`` ``None``), on every supported pluggy.
A misspelled keyword or a wrong type is a type-checker error. Calling a
call-phase hook (``delete_instance``) directly raises: Nova's callable runs
only through the decorated function.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, cast

import pluggy

from nova_hookspec._plugins.process import get_plugin_manager
from nova_hookspec._spec import points as _points
from nova_hookspec.hookspecs import (
    ComputeAPI,
    ComputeManager,
    Flavor,
    Instance,
    NetworkAPI,
    NovaObject,
    RequestContext,
)


class HookRelay(Protocol):
    """``pm.hook`` with the 12 typed hooks' signatures."""

    def create_instance_pre(
        self,
        *,
        compute_api: ComputeAPI = ...,
        context: RequestContext = ...,
        flavor: Flavor = ...,
        image_href: str | None = ...,
        kernel_id: str | None = ...,
        ramdisk_id: str | None = ...,
        min_count: int | None = ...,
        max_count: int | None = ...,
        display_name: str | None = ...,
        display_description: str | None = ...,
        hostname: str | None = ...,
        key_name: str | None = ...,
        key_data: str | None = ...,
        security_groups: Sequence[str] | None = ...,
        availability_zone: str | None = ...,
        forced_host: str | None = ...,
        forced_node: str | None = ...,
        user_data: str | None = ...,
        metadata: dict[str, str] | None = ...,
        injected_files: list[tuple[str, bytes]] | None = ...,
        admin_password: str | None = ...,
        block_device_mapping: NovaObject = ...,
        access_ip_v4: str | None = ...,
        access_ip_v6: str | None = ...,
        requested_networks: NovaObject = ...,
        config_drive: bool | str | None = ...,
        auto_disk_config: bool | None = ...,
        scheduler_hints: dict[str, Any] | None = ...,
        legacy_bdm: bool = ...,
        shutdown_terminate: bool = ...,
        check_server_group_quota: bool = ...,
        tags: list[str] | None = ...,
        supports_multiattach: bool = ...,
        trusted_certs: list[str] | None = ...,
        supports_port_resource_request: bool = ...,
        requested_host: str | None = ...,
        requested_hypervisor_hostname: str | None = ...,
        args: tuple[Any, ...] = ...,
        kwargs: dict[str, Any] = ...,
    ) -> list[None]: ...

    def create_instance(
        self,
        *,
        compute_api: ComputeAPI = ...,
        context: RequestContext = ...,
        flavor: Flavor = ...,
        image_href: str | None = ...,
        kernel_id: str | None = ...,
        ramdisk_id: str | None = ...,
        min_count: int | None = ...,
        max_count: int | None = ...,
        display_name: str | None = ...,
        display_description: str | None = ...,
        hostname: str | None = ...,
        key_name: str | None = ...,
        key_data: str | None = ...,
        security_groups: Sequence[str] | None = ...,
        availability_zone: str | None = ...,
        forced_host: str | None = ...,
        forced_node: str | None = ...,
        user_data: str | None = ...,
        metadata: dict[str, str] | None = ...,
        injected_files: list[tuple[str, bytes]] | None = ...,
        admin_password: str | None = ...,
        block_device_mapping: NovaObject = ...,
        access_ip_v4: str | None = ...,
        access_ip_v6: str | None = ...,
        requested_networks: NovaObject = ...,
        config_drive: bool | str | None = ...,
        auto_disk_config: bool | None = ...,
        scheduler_hints: dict[str, Any] | None = ...,
        legacy_bdm: bool = ...,
        shutdown_terminate: bool = ...,
        check_server_group_quota: bool = ...,
        tags: list[str] | None = ...,
        supports_multiattach: bool = ...,
        trusted_certs: list[str] | None = ...,
        supports_port_resource_request: bool = ...,
        requested_host: str | None = ...,
        requested_hypervisor_hostname: str | None = ...,
        args: tuple[Any, ...] = ...,
        kwargs: dict[str, Any] = ...,
    ) -> tuple[list[Instance], str] | None: ...

    def create_instance_post(
        self,
        *,
        result: tuple[list[Instance], str] = ...,
        compute_api: ComputeAPI = ...,
        context: RequestContext = ...,
        flavor: Flavor = ...,
        image_href: str | None = ...,
        kernel_id: str | None = ...,
        ramdisk_id: str | None = ...,
        min_count: int | None = ...,
        max_count: int | None = ...,
        display_name: str | None = ...,
        display_description: str | None = ...,
        hostname: str | None = ...,
        key_name: str | None = ...,
        key_data: str | None = ...,
        security_groups: Sequence[str] | None = ...,
        availability_zone: str | None = ...,
        forced_host: str | None = ...,
        forced_node: str | None = ...,
        user_data: str | None = ...,
        metadata: dict[str, str] | None = ...,
        injected_files: list[tuple[str, bytes]] | None = ...,
        admin_password: str | None = ...,
        block_device_mapping: NovaObject = ...,
        access_ip_v4: str | None = ...,
        access_ip_v6: str | None = ...,
        requested_networks: NovaObject = ...,
        config_drive: bool | str | None = ...,
        auto_disk_config: bool | None = ...,
        scheduler_hints: dict[str, Any] | None = ...,
        legacy_bdm: bool = ...,
        shutdown_terminate: bool = ...,
        check_server_group_quota: bool = ...,
        tags: list[str] | None = ...,
        supports_multiattach: bool = ...,
        trusted_certs: list[str] | None = ...,
        supports_port_resource_request: bool = ...,
        requested_host: str | None = ...,
        requested_hypervisor_hostname: str | None = ...,
        args: tuple[Any, ...] = ...,
        kwargs: dict[str, Any] = ...,
    ) -> list[None]: ...

    def build_and_run_instance_pre(
        self,
        *,
        compute_manager: ComputeManager = ...,
        context: RequestContext = ...,
        instance: Instance = ...,
        image: dict[str, Any] | None = ...,
        request_spec: NovaObject = ...,
        filter_properties: dict[str, Any] | None = ...,
        admin_password: str | None = ...,
        injected_files: list[tuple[str, bytes]] | None = ...,
        requested_networks: NovaObject = ...,
        security_groups: Sequence[str] | None = ...,
        block_device_mapping: NovaObject = ...,
        node: str | None = ...,
        limits: NovaObject = ...,
        host_list: NovaObject = ...,
        accel_uuids: list[str] | None = ...,
        args: tuple[Any, ...] = ...,
        kwargs: dict[str, Any] = ...,
    ) -> list[None]: ...

    def build_and_run_instance(
        self,
        *,
        compute_manager: ComputeManager = ...,
        context: RequestContext = ...,
        instance: Instance = ...,
        image: dict[str, Any] | None = ...,
        request_spec: NovaObject = ...,
        filter_properties: dict[str, Any] | None = ...,
        admin_password: str | None = ...,
        injected_files: list[tuple[str, bytes]] | None = ...,
        requested_networks: NovaObject = ...,
        security_groups: Sequence[str] | None = ...,
        block_device_mapping: NovaObject = ...,
        node: str | None = ...,
        limits: NovaObject = ...,
        host_list: NovaObject = ...,
        accel_uuids: list[str] | None = ...,
        args: tuple[Any, ...] = ...,
        kwargs: dict[str, Any] = ...,
    ) -> object: ...

    def build_and_run_instance_post(
        self,
        *,
        result: object = ...,
        compute_manager: ComputeManager = ...,
        context: RequestContext = ...,
        instance: Instance = ...,
        image: dict[str, Any] | None = ...,
        request_spec: NovaObject = ...,
        filter_properties: dict[str, Any] | None = ...,
        admin_password: str | None = ...,
        injected_files: list[tuple[str, bytes]] | None = ...,
        requested_networks: NovaObject = ...,
        security_groups: Sequence[str] | None = ...,
        block_device_mapping: NovaObject = ...,
        node: str | None = ...,
        limits: NovaObject = ...,
        host_list: NovaObject = ...,
        accel_uuids: list[str] | None = ...,
        args: tuple[Any, ...] = ...,
        kwargs: dict[str, Any] = ...,
    ) -> list[None]: ...

    def delete_instance_pre(
        self,
        *,
        compute_manager: ComputeManager = ...,
        context: RequestContext = ...,
        instance: Instance = ...,
        bdms: NovaObject = ...,
        args: tuple[Any, ...] = ...,
        kwargs: dict[str, Any] = ...,
    ) -> list[None]: ...

    def delete_instance(
        self,
        *,
        compute_manager: ComputeManager = ...,
        context: RequestContext = ...,
        instance: Instance = ...,
        bdms: NovaObject = ...,
        args: tuple[Any, ...] = ...,
        kwargs: dict[str, Any] = ...,
    ) -> None: ...

    def delete_instance_post(
        self,
        *,
        result: None = ...,
        compute_manager: ComputeManager = ...,
        context: RequestContext = ...,
        instance: Instance = ...,
        bdms: NovaObject = ...,
        args: tuple[Any, ...] = ...,
        kwargs: dict[str, Any] = ...,
    ) -> list[None]: ...

    def instance_network_info_pre(
        self,
        *,
        network_api: NetworkAPI = ...,
        context: RequestContext = ...,
        instance: Instance = ...,
        nw_info: NovaObject = ...,
        args: tuple[Any, ...] = ...,
        kwargs: dict[str, Any] = ...,
    ) -> list[None]: ...

    def instance_network_info(
        self,
        *,
        network_api: NetworkAPI = ...,
        context: RequestContext = ...,
        instance: Instance = ...,
        nw_info: NovaObject = ...,
        args: tuple[Any, ...] = ...,
        kwargs: dict[str, Any] = ...,
    ) -> None: ...

    def instance_network_info_post(
        self,
        *,
        result: None = ...,
        network_api: NetworkAPI = ...,
        context: RequestContext = ...,
        instance: Instance = ...,
        nw_info: NovaObject = ...,
        args: tuple[Any, ...] = ...,
        kwargs: dict[str, Any] = ...,
    ) -> list[None]: ...


class _Relay:
    """``pm.hook``, with the documented default for every argument a call leaves out."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self._hook = pm.hook

    def __getattr__(self, name: str) -> Any:
        hook = getattr(self._hook, name)
        located = _points.hook_phase(name)
        if located is None:
            return hook
        point, phase = located
        defaults = {arg.name: arg.default for arg in point.arguments}
        if phase == "post":
            defaults["result"] = None

        def call(**given: Any) -> Any:
            return hook(**{**defaults, "args": (), "kwargs": {}, **given})

        call.__name__ = name
        return call


def typed_hook(pm: pluggy.PluginManager | None = None) -> HookRelay:
    """``pm.hook`` (default: the process-wide manager's), typed as :class:`HookRelay`,
    every argument optional."""
    return cast(HookRelay, _Relay(pm or get_plugin_manager()))

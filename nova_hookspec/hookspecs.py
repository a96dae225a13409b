"""The typed hook specifications: three hooks for each Nova hook point.

For a hook point ``NAME`` a plugin implements whichever it needs of:

``NAME_pre``
    Observers that run before the Nova callable, in order. Raising
    :class:`~nova_hookspec.FatalHookException` stops the call.
``NAME``
    The call itself. Nova's callable is the innermost implementation; plugins
    may only *wrap* it (``@hookimpl(wrapper=True)`` generators) to inspect
    the arguments, see its exception, or replace its return value.
``NAME_post``
    Observers that run after the callable returned, in order, with the final
    return value as ``result``.

Every hook offers the typed arguments of its point by name, plus ``args`` and
``kwargs`` exactly as the hooked callable received them. A hookimpl asks for
any subset by naming them as parameters (pluggy's rule). An argument the
hooked callable did not receive arrives as its documented default.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generator, TypeVar

if TYPE_CHECKING:
    from typing_extensions import TypeAlias

from nova_hookspec._spec import arguments as _arguments
from nova_hookspec._spec.markers import hookspec

#: ``nova.compute.api.API``.
ComputeAPI: TypeAlias = Any
#: ``nova.compute.manager.ComputeManager``.
ComputeManager: TypeAlias = Any
#: ``nova.network.neutron.API``.
NetworkAPI: TypeAlias = Any
#: ``nova.context.RequestContext``.
RequestContext: TypeAlias = Any
#: ``nova.objects.Instance``.
Instance: TypeAlias = Any
#: ``nova.objects.Flavor`` (a dict-like flavor on old releases).
Flavor: TypeAlias = Any
#: Any other Nova object (request spec, network info, block device mappings).
NovaObject: TypeAlias = Any

_F = TypeVar("_F", bound="Callable[..., object]")

_INTRO = {
    "pre": "Called before {target} runs, with its arguments.",
    "call": (
        "Wraps the call of {target} itself; Nova's code is the innermost "
        "implementation. Only wrappers (``@hookimpl(wrapper=True)``) may "
        "implement this hook: the value a wrapper returns after ``yield`` "
        "replaces the result, an exception it catches can be turned into a "
        "value. The hook's result is what the caller of Nova's function gets."
    ),
    "post": (
        "Called after {target} returned, with its final result (an exception "
        "skips this phase). The return value is ignored."
    ),
}


def _spec(arguments: tuple[_arguments.Argument, ...], phase: str, target: str) -> Callable[[_F], _F]:
    """Complete the docstring of a spec with its phase intro and ``:param:`` block."""

    def decorate(func: _F) -> _F:
        intro = _INTRO[phase].format(target=target)
        body = inspect.cleandoc(func.__doc__ or "")
        params = _arguments.render_params(arguments, with_result=phase == "post")
        func.__doc__ = f"{intro}\n\n{body}\n\n{params}\n"
        return hookspec(firstresult=phase == "call")(func)

    return decorate


_CREATE = "``nova.compute.api.API.create`` (nova-api, once per boot request)"
_BUILD = "``ComputeManager._do_build_and_run_instance`` (nova-compute, on the chosen host)"
_DELETE = "``ComputeManager._delete_instance`` (nova-compute)"
_NETWORK = "``nova.network.neutron.update_instance_cache_with_nw_info`` (every network cache refresh)"

# ---------------------------------------------------------------- create_instance


@_spec(_arguments.CREATE_INSTANCE, "pre", _CREATE)
def create_instance_pre(
    compute_api: ComputeAPI, context: RequestContext, flavor: Flavor, image_href: str | None,
    kernel_id: str | None, ramdisk_id: str | None, min_count: int | None, max_count: int | None,
    display_name: str | None, display_description: str | None, hostname: str | None,
    key_name: str | None, key_data: str | None, security_groups: Sequence[str] | None,
    availability_zone: str | None, forced_host: str | None, forced_node: str | None,
    user_data: str | None, metadata: dict[str, str] | None,
    injected_files: list[tuple[str, bytes]] | None, admin_password: str | None,
    block_device_mapping: NovaObject, access_ip_v4: str | None, access_ip_v6: str | None,
    requested_networks: NovaObject, config_drive: bool | str | None,
    auto_disk_config: bool | None, scheduler_hints: dict[str, Any] | None, legacy_bdm: bool,
    shutdown_terminate: bool, check_server_group_quota: bool, tags: list[str] | None,
    supports_multiattach: bool, trusted_certs: list[str] | None,
    supports_port_resource_request: bool, requested_host: str | None,
    requested_hypervisor_hostname: str | None,
    args: tuple[Any, ...], kwargs: dict[str, Any],
) -> None:
    """Register the request in an external system before Nova accepts it, or
    refuse it by raising :class:`~nova_hookspec.FatalHookException`.

    Example::

        @hookimpl
        def create_instance_pre(display_name, metadata):
            if metadata is not None:
                metadata["requested-as"] = display_name
    """


@_spec(_arguments.CREATE_INSTANCE, "call", _CREATE)
def create_instance(
    compute_api: ComputeAPI, context: RequestContext, flavor: Flavor, image_href: str | None,
    kernel_id: str | None, ramdisk_id: str | None, min_count: int | None, max_count: int | None,
    display_name: str | None, display_description: str | None, hostname: str | None,
    key_name: str | None, key_data: str | None, security_groups: Sequence[str] | None,
    availability_zone: str | None, forced_host: str | None, forced_node: str | None,
    user_data: str | None, metadata: dict[str, str] | None,
    injected_files: list[tuple[str, bytes]] | None, admin_password: str | None,
    block_device_mapping: NovaObject, access_ip_v4: str | None, access_ip_v6: str | None,
    requested_networks: NovaObject, config_drive: bool | str | None,
    auto_disk_config: bool | None, scheduler_hints: dict[str, Any] | None, legacy_bdm: bool,
    shutdown_terminate: bool, check_server_group_quota: bool, tags: list[str] | None,
    supports_multiattach: bool, trusted_certs: list[str] | None,
    supports_port_resource_request: bool, requested_host: str | None,
    requested_hypervisor_hostname: str | None,
    args: tuple[Any, ...], kwargs: dict[str, Any],
) -> tuple[list[Instance], str] | None:
    """:return: ``(instances, reservation_id)``, as ``API.create`` returns it.

    Example::

        @hookimpl(wrapper=True)
        def create_instance(display_name):
            instances, reservation_id = yield
            for instance in instances:
                instance.metadata["created-by"] = "acme"
            return instances, reservation_id
    """


@_spec(_arguments.CREATE_INSTANCE, "post", _CREATE)
def create_instance_post(
    result: tuple[list[Instance], str],
    compute_api: ComputeAPI, context: RequestContext, flavor: Flavor, image_href: str | None,
    kernel_id: str | None, ramdisk_id: str | None, min_count: int | None, max_count: int | None,
    display_name: str | None, display_description: str | None, hostname: str | None,
    key_name: str | None, key_data: str | None, security_groups: Sequence[str] | None,
    availability_zone: str | None, forced_host: str | None, forced_node: str | None,
    user_data: str | None, metadata: dict[str, str] | None,
    injected_files: list[tuple[str, bytes]] | None, admin_password: str | None,
    block_device_mapping: NovaObject, access_ip_v4: str | None, access_ip_v6: str | None,
    requested_networks: NovaObject, config_drive: bool | str | None,
    auto_disk_config: bool | None, scheduler_hints: dict[str, Any] | None, legacy_bdm: bool,
    shutdown_terminate: bool, check_server_group_quota: bool, tags: list[str] | None,
    supports_multiattach: bool, trusted_certs: list[str] | None,
    supports_port_resource_request: bool, requested_host: str | None,
    requested_hypervisor_hostname: str | None,
    args: tuple[Any, ...], kwargs: dict[str, Any],
) -> None:
    """Record the new instances (inventory, DNS, audit).

    Example::

        @hookimpl
        def create_instance_post(result):
            instances, reservation_id = result
            for instance in instances:
                inventory.add(instance.uuid, instance.hostname)
    """


# ---------------------------------------------------------------- build_and_run_instance


@_spec(_arguments.BUILD_AND_RUN_INSTANCE, "pre", _BUILD)
def build_and_run_instance_pre(
    compute_manager: ComputeManager, context: RequestContext, instance: Instance,
    image: dict[str, Any] | None, request_spec: NovaObject,
    filter_properties: dict[str, Any] | None, admin_password: str | None,
    injected_files: list[tuple[str, bytes]] | None, requested_networks: NovaObject,
    security_groups: Sequence[str] | None, block_device_mapping: NovaObject,
    node: str | None, limits: NovaObject, host_list: NovaObject,
    accel_uuids: list[str] | None,
    args: tuple[Any, ...], kwargs: dict[str, Any],
) -> None:
    """Prepare the host for the instance (register it before it boots).

    Example::

        @hookimpl
        def build_and_run_instance_pre(instance, node):
            ipam.reserve(instance.hostname, node)
    """


@_spec(_arguments.BUILD_AND_RUN_INSTANCE, "call", _BUILD)
def build_and_run_instance(
    compute_manager: ComputeManager, context: RequestContext, instance: Instance,
    image: dict[str, Any] | None, request_spec: NovaObject,
    filter_properties: dict[str, Any] | None, admin_password: str | None,
    injected_files: list[tuple[str, bytes]] | None, requested_networks: NovaObject,
    security_groups: Sequence[str] | None, block_device_mapping: NovaObject,
    node: str | None, limits: NovaObject, host_list: NovaObject,
    accel_uuids: list[str] | None,
    args: tuple[Any, ...], kwargs: dict[str, Any],
) -> object:
    """:return: the build result Nova's method returns (``None`` on Nova <= 21
        when it raised into its own fault handling).

    Example::

        @hookimpl(wrapper=True)
        def build_and_run_instance(instance):
            started = time.monotonic()
            try:
                return (yield)
            finally:
                metrics.timing("build", time.monotonic() - started)
    """


@_spec(_arguments.BUILD_AND_RUN_INSTANCE, "post", _BUILD)
def build_and_run_instance_post(
    result: object,
    compute_manager: ComputeManager, context: RequestContext, instance: Instance,
    image: dict[str, Any] | None, request_spec: NovaObject,
    filter_properties: dict[str, Any] | None, admin_password: str | None,
    injected_files: list[tuple[str, bytes]] | None, requested_networks: NovaObject,
    security_groups: Sequence[str] | None, block_device_mapping: NovaObject,
    node: str | None, limits: NovaObject, host_list: NovaObject,
    accel_uuids: list[str] | None,
    args: tuple[Any, ...], kwargs: dict[str, Any],
) -> None:
    """Record where the instance was built.

    Example::

        @hookimpl
        def build_and_run_instance_post(instance, node):
            audit.log("built", instance.uuid, node)
    """


# ---------------------------------------------------------------- delete_instance


@_spec(_arguments.DELETE_INSTANCE, "pre", _DELETE)
def delete_instance_pre(
    compute_manager: ComputeManager, context: RequestContext, instance: Instance,
    bdms: NovaObject, args: tuple[Any, ...], kwargs: dict[str, Any],
) -> None:
    """Act before the instance is torn down (while it still exists).

    Example::

        @hookimpl
        def delete_instance_pre(instance):
            dns.schedule_removal(instance.hostname)
    """


@_spec(_arguments.DELETE_INSTANCE, "call", _DELETE)
def delete_instance(
    compute_manager: ComputeManager, context: RequestContext, instance: Instance,
    bdms: NovaObject, args: tuple[Any, ...], kwargs: dict[str, Any],
) -> None:
    """:return: ``None``, as ``_delete_instance`` returns.

    Example::

        @hookimpl(wrapper=True)
        def delete_instance(instance):
            with audit.span("delete", instance.uuid):
                return (yield)
    """


@_spec(_arguments.DELETE_INSTANCE, "post", _DELETE)
def delete_instance_post(
    result: None,
    compute_manager: ComputeManager, context: RequestContext, instance: Instance,
    bdms: NovaObject, args: tuple[Any, ...], kwargs: dict[str, Any],
) -> None:
    """Deregister the instance (inventory, LDAP, DNS).

    Example::

        @hookimpl
        def delete_instance_post(instance):
            inventory.remove(instance.uuid)
    """


# ---------------------------------------------------------------- instance_network_info


@_spec(_arguments.INSTANCE_NETWORK_INFO, "pre", _NETWORK)
def instance_network_info_pre(
    network_api: NetworkAPI, context: RequestContext, instance: Instance,
    nw_info: NovaObject, args: tuple[Any, ...], kwargs: dict[str, Any],
) -> None:
    """Runs often: keep it cheap.

    Example::

        @hookimpl
        def instance_network_info_pre(instance, nw_info):
            if nw_info is not None:
                log.debug("%s: %d VIFs", instance.uuid, len(nw_info))
    """


@_spec(_arguments.INSTANCE_NETWORK_INFO, "call", _NETWORK)
def instance_network_info(
    network_api: NetworkAPI, context: RequestContext, instance: Instance,
    nw_info: NovaObject, args: tuple[Any, ...], kwargs: dict[str, Any],
) -> None:
    """:return: ``None``, as the Nova function returns.

    Example::

        @hookimpl(wrapper=True)
        def instance_network_info(instance):
            result = yield
            cache.invalidate(instance.uuid)
            return result
    """


@_spec(_arguments.INSTANCE_NETWORK_INFO, "post", _NETWORK)
def instance_network_info_post(
    result: None,
    network_api: NetworkAPI, context: RequestContext, instance: Instance,
    nw_info: NovaObject, args: tuple[Any, ...], kwargs: dict[str, Any],
) -> None:
    """Publish the instance's addresses (IPAM, DNS).

    Example::

        @hookimpl
        def instance_network_info_post(instance, nw_info):
            for vif in nw_info or ():
                dns.update(instance.hostname, vif.fixed_ips())
    """


# ---------------------------------------------------------------- reconcile


@hookspec
def known_instances() -> Iterable[str]:
    """Called by ``nova-hookspec reconcile`` (never by a Nova call), once per pass
    and plugin, before Nova's instances are listed: the instance UUIDs the
    plugin's external system holds now. Optional: a plugin without it is
    reconciled against what its deferred jobs delivered (:doc:`reconcile`).

    The pass compares them with Nova's instances and queues the plugin's
    ``create_instance_post`` for what is missing and ``delete_instance_post``
    for what is stale. It iterates the result once, lazily: return a generator
    (100,000 instances need not be in memory twice). An exception aborts the
    pass, and nothing is queued.

    :return: an iterable of instance UUIDs (strings), each once.

    Example::

        @hookimpl
        def known_instances():
            for row in inventory.query("SELECT uuid FROM instances"):
                yield row.uuid
    """
    return ()


# ---------------------------------------------------------------- custom hook names


def generic_specs(name: str) -> Mapping[str, Callable[..., object]]:
    """Specifications for a custom hook name (one with no typed arguments).

    ``add_hook("resize_hook")`` declares ``resize_hook_pre(args, kwargs)``,
    ``resize_hook(args, kwargs)`` (wrappers only) and
    ``resize_hook_post(result, args, kwargs)``.
    """

    def pre(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Called before the hooked callable."""

    def call(args: tuple[Any, ...], kwargs: dict[str, Any]) -> object:
        """Wraps the hooked callable (wrappers only)."""

    def post(result: object, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Called after the hooked callable returned."""

    hookspec(pre)
    hookspec(firstresult=True)(call)
    hookspec(post)
    return {f"{name}_pre": pre, name: call, f"{name}_post": post}


#: Generator type of a new-style wrapper, for plugin authors' annotations.
Wrapper: TypeAlias = Generator[None, Any, Any]
